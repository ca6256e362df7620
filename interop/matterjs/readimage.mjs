#!/usr/bin/env node
// readimage.mjs parses a Matter OTA image file (.ota) with matter.js 0.17.9's OtaImageReader, validating
// the payload digest, and prints the header as one JSON line: the reference verdict that otaconf's Go
// image codec is checked against. It does not repair, extract or re-sign images.
//
// Usage: node readimage.mjs FILE
//
// Exit 0 and JSON on stdout for a valid image; exit 1 and one stderr line naming what is wrong for an
// image that matter.js rejects (bad file identifier, truncated header, TLV error, payload size or digest
// mismatch, total size in the prefix not equal to the file size); exit 2 for a usage error.

import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { open, stat } from "node:fs/promises";
import { Readable } from "node:stream";
import { configureLogging, configureMatter, parseOptions, runMain, toJson, UsageError } from "./cli.mjs";

const SCRIPT = "readimage.mjs";
const USAGE = "node readimage.mjs FILE";

// §11.21.2 (OTA image file format): u32 FileIdentifier, u64 TotalSize, u32 HeaderSize, all little-endian.
const PREFIX_SIZE = 16;

function toHex(bytes) {
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** The fixed prefix, read directly: OtaImageReader validates it but does not expose HeaderSize. */
async function readPrefix(path) {
    const handle = await open(path, "r");
    try {
        const buf = Buffer.alloc(PREFIX_SIZE);
        const { bytesRead } = await handle.read(buf, 0, PREFIX_SIZE, 0);
        if (bytesRead < PREFIX_SIZE) {
            return undefined;
        }
        return {
            fileIdentifier: buf.readUInt32LE(0),
            totalSize: buf.readBigUInt64LE(4),
            headerSize: buf.readUInt32LE(12),
        };
    } finally {
        await handle.close();
    }
}

async function main() {
    const { positionals } = parseOptions(process.argv.slice(2), {}, { allowPositionals: true });
    if (positionals.length !== 1) {
        throw new UsageError(`expected exactly one FILE, got ${positionals.length}`);
    }
    const path = positionals[0];

    let fileSize;
    try {
        fileSize = (await stat(path)).size;
    } catch (error) {
        throw new Error(`${path}: ${error.message}`);
    }

    await configureMatter();
    const { Environment, Crypto, Logger } = await import("@matter/main");
    const { OtaImageReader } = await import("@matter/main/protocol");
    configureLogging(Logger, "warn");
    const crypto = Environment.default.get(Crypto);

    const stream = Readable.toWeb(createReadStream(path));
    const reader = stream.getReader();
    let header;
    try {
        // calculateFullChecksum=false selects the reader's payload-digest check (with it on, the reader
        // only hashes the whole file and never compares ImageDigest). expectedTotalSize makes it compare
        // the prefix's TotalSize with the real file size.
        header = await OtaImageReader.file(reader, crypto, fileSize, { calculateFullChecksum: false });
    } catch (error) {
        await reader.cancel().catch(() => {});
        throw new Error(`${path}: invalid OTA image: ${error.message}`);
    }

    const prefix = await readPrefix(path);
    const whole = createHash("sha256");
    for await (const chunk of createReadStream(path)) {
        whole.update(chunk);
    }
    const digest = whole.digest();

    process.stdout.write(
        `${toJson({
            file: path,
            fileSize,
            totalSize: prefix?.totalSize,
            headerSize: prefix?.headerSize,
            vendorId: header.vendorId,
            productId: header.productId,
            softwareVersion: header.softwareVersion,
            softwareVersionString: header.softwareVersionString,
            payloadSize: header.payloadSize,
            minApplicableSoftwareVersion: header.minApplicableSoftwareVersion,
            maxApplicableSoftwareVersion: header.maxApplicableSoftwareVersion,
            releaseNotesUrl: header.releaseNotesUrl,
            imageDigestType: header.imageDigestType,
            imageDigest: toHex(header.imageDigest),
            fullFileChecksum: digest.toString("base64"),
            fullFileChecksumType: "SHA-256",
            sha256: digest.toString("hex"),
        })}\n`,
    );
}

await runMain(SCRIPT, USAGE, main);
