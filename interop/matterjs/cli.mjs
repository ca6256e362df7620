// Shared command-line plumbing for the otaconf matter.js fixture scripts (provider.mjs, mkimage.mjs,
// readimage.mjs). It is not a general CLI library: it only knows the conventions those three scripts share.
//
// Every option of ours is spelled --x-NAME=VALUE. matter.js's NodeJsEnvironment would otherwise read any
// --a-b=value on argv as its own config key a.b; configureMatter() also switches that reader off.

import { parseArgs } from "node:util";

/** Exit codes shared by the scripts; matterjs.go mirrors them. */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_MAX_SECONDS = 3;

/** A problem with the command line: reported with the usage hint and exit code 2. */
export class UsageError extends Error {}

/** Print one line to stderr, prefixed with the script name, and exit with code. Newlines are flattened. */
export function die(script, code, message) {
    const line = String(message).replace(/\s*\n\s*/g, " | ");
    process.stderr.write(`${script}: ${line}\n`);
    process.exit(code);
}

/** Run main, turning a UsageError into exit 2 and anything else into exit 1, each as one stderr line. */
export async function runMain(script, usage, main) {
    try {
        await main();
    } catch (error) {
        if (error instanceof UsageError) {
            die(script, EXIT_USAGE, `usage error: ${error.message} (usage: ${usage})`);
        }
        die(script, EXIT_ERROR, `error: ${describeError(error)}`);
    }
}

/** The message of an error and of its causes, on one line. */
export function describeError(error) {
    const parts = [];
    for (let e = error, depth = 0; e !== undefined && e !== null && depth < 5; e = e.cause, depth++) {
        parts.push(e instanceof Error ? `${e.name === "Error" ? "" : `${e.name}: `}${e.message}` : String(e));
    }
    return parts.join(": caused by: ");
}

/**
 * Parse argv with node:util parseArgs in strict mode, so an unknown or misspelt option is an error rather
 * than something silently ignored.
 */
export function parseOptions(argv, options, { allowPositionals = false } = {}) {
    try {
        return parseArgs({ args: argv, options, strict: true, allowPositionals });
    } catch (error) {
        throw new UsageError(error.message);
    }
}

/**
 * Parse an unsigned integer option (decimal or 0x hex) and check it against [min, max].
 * Number() alone would accept "", "1e3" and " 7 ", which are not what anyone means by a port or an id.
 */
export function uintOption(name, text, min, max) {
    if (typeof text !== "string" || !/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(text)) {
        throw new UsageError(`--${name}=${JSON.stringify(text)} is not an unsigned integer (decimal or 0x hex)`);
    }
    const value = Number(text);
    if (!Number.isSafeInteger(value) || value < min || value > max) {
        throw new UsageError(`--${name}=${text} is out of range [${min}, ${max}]`);
    }
    return value;
}

/** Parse a boolean option spelt true/false/1/0. */
export function boolOption(name, text) {
    switch (text) {
        case "true":
        case "1":
            return true;
        case "false":
        case "0":
            return false;
        default:
            throw new UsageError(`--${name}=${JSON.stringify(text)} is not a boolean (true/false)`);
    }
}

/**
 * Configure the matter.js Node.js bootstrap before anything else of matter.js is loaded: the scripts take no
 * configuration from argv, MATTER_* environment variables or a config.json, so a stray variable on a CI
 * machine cannot change what a test sees. Must run before the first import of @matter/main.
 */
export async function configureMatter({ storagePath } = {}) {
    const { config } = await import("@matter/nodejs/config");
    config.loadProcessArgv = false;
    config.loadProcessEnv = false;
    config.loadConfigFile = false;
    // We install our own SIGTERM/SIGINT handling with a bounded shutdown.
    config.trapProcessSignals = false;
    if (storagePath !== undefined) {
        config.defaultStoragePath = storagePath;
    }
}

/**
 * Send matter.js logs to stderr (its default console destination writes info/notice to stdout, which must
 * stay reserved for the scripts' machine-readable output), in plain format, at the given level.
 */
export function configureLogging(Logger, level) {
    Logger.format = "plain";
    Logger.level = level;
    Logger.destinations.default.write = text => {
        process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
    };
}

/** JSON.stringify that writes bigint values as numbers when exact and as decimal strings otherwise. */
export function toJson(value) {
    return JSON.stringify(value, (_key, v) => {
        if (typeof v === "bigint") {
            return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
        }
        return v;
    });
}
