// Package pics loads PICS declarations the way certification labs keep them: the CHIP CI text format
// (CODE=1/0), CSA PICS Tool XML files, folders of those with per-endpoint sub-folders, and zips of them
// (pics.md §1). It is not a PICS expression evaluator and does not know which codes exist.
package pics
