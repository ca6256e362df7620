#!/usr/bin/env node
// mkimage.mjs writes a Matter OTA image file (.ota) with matter.js 0.17.9's own OtaImageWriter, so that
// otaconf can compare its Go image codec against the reference implementation. It is not an image
// signing or packaging tool: it writes exactly what OtaImageWriter produces, nothing more.
//
// Usage:
//   node mkimage.mjs --x-out=FILE --x-vendor-id=0xFFF1 --x-product-id=0x8000 --x-version=2
//                    [--x-version-string=2.0.0] [--x-payload-size=N | --x-payload-file=FILE]
//                    [--x-min-applicable=N] [--x-max-applicable=N] [--x-release-notes-url=https://...]
//                    [--x-digest=SHA-256|SHA-384|SHA-512|SHA3-256]
//
// Without --x-payload-file the payload is N bytes (default 1024) of the fixed pattern byte[i] = i % 251,
// so the output is byte-for-byte reproducible. On success one JSON line describing the written file goes
// to stdout; errors are one stderr line and a non-zero exit (1 error, 2 usage).

import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import {
    configureLogging,
    configureMatter,
    parseOptions,
    runMain,
    toJson,
    uintOption,
    UsageError,
} from "./cli.mjs";

const SCRIPT = "mkimage.mjs";
const USAGE =
    "node mkimage.mjs --x-out=FILE --x-vendor-id=N --x-product-id=N --x-version=N [--x-version-string=S] " +
    "[--x-payload-size=N | --x-payload-file=FILE] [--x-min-applicable=N] [--x-max-applicable=N] " +
    "[--x-release-notes-url=URL] [--x-digest=SHA-256|SHA-384|SHA-512|SHA3-256]";

const DIGESTS = ["SHA-256", "SHA-384", "SHA-512", "SHA3-256"];
const UINT16 = 0xffff;
const UINT32 = 0xffffffff;
// The writer builds the whole image in memory; 256 MiB keeps a typo from exhausting the machine.
const MAX_PAYLOAD = 256 * 1024 * 1024;

/** The reproducible payload: byte i is i mod 251 (a prime, so the pattern never lines up with block sizes). */
function patternPayload(size) {
    const payload = new Uint8Array(size);
    for (let i = 0; i < size; i++) {
        payload[i] = i % 251;
    }
    return payload;
}

function parse(argv) {
    const { values } = parseOptions(argv, {
        "x-out": { type: "string" },
        "x-vendor-id": { type: "string" },
        "x-product-id": { type: "string" },
        "x-version": { type: "string" },
        "x-version-string": { type: "string" },
        "x-payload-size": { type: "string" },
        "x-payload-file": { type: "string" },
        "x-min-applicable": { type: "string" },
        "x-max-applicable": { type: "string" },
        "x-release-notes-url": { type: "string" },
        "x-digest": { type: "string" },
    });
    for (const required of ["x-out", "x-vendor-id", "x-product-id", "x-version"]) {
        if (values[required] === undefined) {
            throw new UsageError(`--${required} is required`);
        }
    }
    if (values["x-payload-size"] !== undefined && values["x-payload-file"] !== undefined) {
        throw new UsageError("--x-payload-size and --x-payload-file are mutually exclusive");
    }
    const softwareVersion = uintOption("x-version", values["x-version"], 0, UINT32);
    const softwareVersionString = values["x-version-string"] ?? `${softwareVersion}.0.0`;
    // §11.21.2.4 (OTA image header): SoftwareVersionString is 1..64 characters. matter.js enforces the same
    // bound when encoding; checking here gives a usage error instead of a TLV exception.
    if (softwareVersionString.length < 1 || softwareVersionString.length > 64) {
        throw new UsageError(`--x-version-string must be 1..64 characters, got ${softwareVersionString.length}`);
    }
    const digest = values["x-digest"] ?? "SHA-256";
    if (!DIGESTS.includes(digest)) {
        throw new UsageError(`--x-digest=${digest} is not one of ${DIGESTS.join(", ")}`);
    }
    const opt = name =>
        values[`x-${name}`] === undefined ? undefined : uintOption(`x-${name}`, values[`x-${name}`], 0, UINT32);
    return {
        out: values["x-out"],
        vendorId: uintOption("x-vendor-id", values["x-vendor-id"], 0, UINT16),
        productId: uintOption("x-product-id", values["x-product-id"], 0, UINT16),
        softwareVersion,
        softwareVersionString,
        payloadSize:
            values["x-payload-size"] === undefined
                ? undefined
                : uintOption("x-payload-size", values["x-payload-size"], 0, MAX_PAYLOAD),
        payloadFile: values["x-payload-file"],
        minApplicableSoftwareVersion: opt("min-applicable"),
        maxApplicableSoftwareVersion: opt("max-applicable"),
        releaseNotesUrl: values["x-release-notes-url"],
        digest,
    };
}

async function main() {
    const opts = parse(process.argv.slice(2));
    await configureMatter();
    const { Environment, Crypto, Logger } = await import("@matter/main");
    const { OtaImageWriter } = await import("@matter/main/protocol");
    configureLogging(Logger, "warn");

    let payload;
    if (opts.payloadFile !== undefined) {
        try {
            payload = new Uint8Array(await readFile(opts.payloadFile));
        } catch (error) {
            throw new Error(`reading payload file ${opts.payloadFile}: ${error.message}`);
        }
    } else {
        payload = patternPayload(opts.payloadSize ?? 1024);
    }

    const crypto = Environment.default.get(Crypto);
    const { image, fullFileChecksum, fullFileChecksumType } = await OtaImageWriter.create(crypto, {
        vendorId: opts.vendorId,
        productId: opts.productId,
        softwareVersion: opts.softwareVersion,
        softwareVersionString: opts.softwareVersionString,
        minApplicableSoftwareVersion: opts.minApplicableSoftwareVersion,
        maxApplicableSoftwareVersion: opts.maxApplicableSoftwareVersion,
        releaseNotesUrl: opts.releaseNotesUrl,
        payload,
        imageDigestType: opts.digest,
    });

    try {
        await writeFile(opts.out, image);
    } catch (error) {
        throw new Error(`writing ${opts.out}: ${error.message}`);
    }

    process.stdout.write(
        `${toJson({
            file: opts.out,
            size: image.byteLength,
            payloadSize: payload.byteLength,
            vendorId: opts.vendorId,
            productId: opts.productId,
            softwareVersion: opts.softwareVersion,
            softwareVersionString: opts.softwareVersionString,
            imageDigestType: opts.digest,
            fullFileChecksum,
            fullFileChecksumType,
            sha256: createHash("sha256").update(image).digest("hex"),
        })}\n`,
    );
}

await runMain(SCRIPT, USAGE, main);
