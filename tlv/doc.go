// Package tlv implements Matter TLV (Matter Core Specification, Appendix A): a streaming Reader that
// allocates nothing for scalars and returns strings as views of its input, a Writer that picks the
// smallest integer, length and tag widths, an element tree for tools and mutation, the spec's value
// notation, a JSON form, and a strict checker that reports SHOULD-level findings.
//
// It knows nothing of clusters or commands: typed decoding of Matter messages lives in the packages
// that own them (ota, matter/im, ...), built on Reader and Writer.
package tlv
