#!/usr/bin/env node
// provider.mjs runs a matter.js 0.17.9 device node that hosts an OTA Software Update Provider (cluster
// 0x0029) endpoint on loopback only: the third-party peer that otaconf's Go requestor and commissioner talk
// to. It is a test fixture, not a product: no DCL, no mDNS discovery, fresh storage on every run.
//
// Usage:
//   node provider.mjs [--x-port=0] [--x-passcode=20202021] [--x-discriminator=3840]
//                     [--x-vendor-id=0xFFF1] [--x-product-id=0x8000] [--x-storage=DIR]
//                     [--x-image=FILE ...] [--x-mode=local|stock] [--x-max-seconds=0]
//                     [--x-log-level=warn] [--x-watch-stdin=true] [--x-remove-storage=false]
//
// When the node is online and every image is stored, exactly one line goes to stdout:
//   OTACONF_PEER_READY {"port":5550,"endpoint":1,"passcode":20202021,...,"images":[{"designator":...}]}
// and nothing else is ever written there. Logs go to stderr. The process then serves until SIGTERM or
// SIGINT (clean shutdown, exit 0), until its stdin reaches EOF (exit 0: a parent that died cannot leave an
// orphan node behind), or until --x-max-seconds have passed (exit 3). Errors are one stderr line and
// exit 1 (2 for a usage error).
//
// Every socket it opens, mDNS included, is bound to 127.0.0.1 or ::1 (LoopbackNetwork below).
//
// Modes (see shared/spec/matterjs-peer.md §2):
//   stock  the library's OtaSoftwareUpdateProviderServer unchanged. It only serves peers the node itself
//          commissioned, so a requestor commissioned by someone else always gets NotAvailable.
//   local  the same server with only checkUpdateAvailable() overridden: any requestor gets UpdateAvailable
//          for the newest stored image of its VendorID/ProductID that is newer than its SoftwareVersion and
//          applicable to it (the stock min/max rule), and a consent for that peer and version is recorded
//          in the SoftwareUpdateManager so ApplyUpdateRequest answers Proceed. Everything else (tokens,
//          Busy tracking, BDX, ImageURI, Apply/Notify) stays library code.

import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { createReadStream } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { Readable } from "node:stream";
import {
    boolOption,
    configureLogging,
    configureMatter,
    describeError,
    die,
    EXIT_ERROR,
    EXIT_MAX_SECONDS,
    EXIT_OK,
    parseOptions,
    runMain,
    toJson,
    uintOption,
    UsageError,
} from "./cli.mjs";

const SCRIPT = "provider.mjs";
const USAGE =
    "node provider.mjs [--x-port=N] [--x-passcode=N] [--x-discriminator=N] [--x-vendor-id=N] " +
    "[--x-product-id=N] [--x-storage=DIR] [--x-image=FILE ...] [--x-mode=local|stock] [--x-max-seconds=N] " +
    "[--x-log-level=debug|info|notice|warn|error] [--x-watch-stdin=true|false] [--x-remove-storage=true|false]";

const READY_PREFIX = "OTACONF_PEER_READY ";
const MATTERJS_VERSION = "0.17.9";
const IPV4 = "127.0.0.1";
const IPV6 = "::1";
// Bounds the whole shutdown: node.close() waits for sessions and exchanges to wind down, which has no
// limit of its own.
const SHUTDOWN_TIMEOUT_MS = 10_000;
// Core §5.1.1.6 bounds the passcode to 1..99999998 and §5.1.7.1 forbids these trivial ones; matter.js
// rejects them too, but later and with a less direct message.
const INVALID_PASSCODES = new Set([
    0, 11111111, 22222222, 33333333, 44444444, 55555555, 66666666, 77777777, 88888888, 99999999, 12345678,
    87654321,
]);
const LOG_LEVELS = ["debug", "info", "notice", "warn", "error", "fatal"];

function parse(argv) {
    const { values } = parseOptions(argv, {
        "x-port": { type: "string", default: "0" },
        "x-passcode": { type: "string", default: "20202021" },
        "x-discriminator": { type: "string", default: "3840" },
        "x-vendor-id": { type: "string", default: "0xFFF1" },
        "x-product-id": { type: "string", default: "0x8000" },
        "x-storage": { type: "string" },
        "x-image": { type: "string", multiple: true, default: [] },
        "x-mode": { type: "string", default: "local" },
        "x-max-seconds": { type: "string", default: "0" },
        "x-log-level": { type: "string", default: "warn" },
        "x-watch-stdin": { type: "string", default: "true" },
        "x-remove-storage": { type: "string", default: "false" },
    });
    const passcode = uintOption("x-passcode", values["x-passcode"], 1, 99999998);
    if (INVALID_PASSCODES.has(passcode)) {
        throw new UsageError(`--x-passcode=${passcode} is one of the trivial passcodes Core §5.1.7.1 forbids`);
    }
    if (values["x-mode"] !== "local" && values["x-mode"] !== "stock") {
        throw new UsageError(`--x-mode=${values["x-mode"]} is neither local nor stock`);
    }
    if (!LOG_LEVELS.includes(values["x-log-level"])) {
        throw new UsageError(`--x-log-level=${values["x-log-level"]} is not one of ${LOG_LEVELS.join(", ")}`);
    }
    return {
        port: uintOption("x-port", values["x-port"], 0, 65535),
        passcode,
        // §5.1.1.5: the discriminator is 12 bits.
        discriminator: uintOption("x-discriminator", values["x-discriminator"], 0, 0xfff),
        // 0 and 0xFFF5..0xFFFF are not assignable vendor ids, but a fixture may want odd values: only the
        // u16 range is enforced here.
        vendorId: uintOption("x-vendor-id", values["x-vendor-id"], 0, 0xffff),
        productId: uintOption("x-product-id", values["x-product-id"], 0, 0xffff),
        storage: values["x-storage"],
        images: values["x-image"].map(path => (isAbsolute(path) ? path : resolve(path))),
        mode: values["x-mode"],
        maxSeconds: uintOption("x-max-seconds", values["x-max-seconds"], 0, 7 * 24 * 3600),
        logLevel: values["x-log-level"],
        watchStdin: boolOption("x-watch-stdin", values["x-watch-stdin"]),
        removeStorage: boolOption("x-remove-storage", values["x-remove-storage"]),
    };
}

/**
 * Fresh storage each run: an existing directory must be empty, so state from an earlier run (fabrics,
 * stored images) can never leak into a test. Without --x-storage a temp dir is made and removed at exit;
 * --x-remove-storage=true removes a given one at exit too (the Go side asks for that, so a temp dir it
 * made is not leaked when it dies and the peer exits on stdin EOF).
 */
async function prepareStorage(dir, remove) {
    if (dir === undefined) {
        return { path: await mkdtemp(join(tmpdir(), "otaconf-matterjs-")), owned: true };
    }
    const path = resolve(dir);
    await mkdir(path, { recursive: true });
    const entries = await readdir(path);
    if (entries.length !== 0) {
        throw new UsageError(`--x-storage=${path} is not empty (${entries.length} entries); the peer needs a fresh directory`);
    }
    return { path, owned: remove };
}

/** Import and configure matter.js. Returns what main() needs. */
async function loadMatter(opts, storagePath) {
    await configureMatter({ storagePath });
    const main = await import("@matter/main");
    const protocol = await import("@matter/main/protocol");
    const { NodeJsNetwork } = await import("@matter/nodejs");
    const { OtaSoftwareUpdateProviderServer } = await import("@matter/main/behaviors/ota-software-update-provider");
    const { OtaProviderEndpoint } = await import("@matter/main/endpoints/ota-provider");

    configureLogging(main.Logger, opts.logLevel);
    // lo has no MULTICAST flag on most machines, so each mDNS send fails with ENETUNREACH at INFO level;
    // harmless and noise at anything below warn.
    main.Logger.facilityLevels = { UdpMulticastServer: "error" };

    const env = main.Environment.default;
    env.vars.set("path.root", storagePath);
    env.vars.set("storage.path", storagePath);
    // matter.js always runs an mDNS service (the probe found no switch to turn it off). Keep its sends on
    // lo and on IPv6 only; LoopbackNetwork below keeps its sockets on loopback addresses.
    env.vars.set("mdns.networkInterface", "lo");
    env.vars.set("mdns.ipv4", false);
    const network = new (loopbackNetworkClass(NodeJsNetwork))();
    env.set(main.Network, network);

    return { main, protocol, network, OtaSoftwareUpdateProviderServer, OtaProviderEndpoint };
}

/**
 * A NodeJsNetwork whose sockets never bind a wildcard address. matter.js binds its operational port where
 * network.listeningAddressIpv4/6 say, but binds mDNS (:5353, all interfaces) with no address at all; here
 * every unspecified or wildcard bind becomes 127.0.0.1 or ::1, so the node listens on loopback only.
 */
function loopbackNetworkClass(NodeJsNetwork) {
    const WILDCARDS = new Set([undefined, "", "0.0.0.0", "::", "::0"]);
    const loopbackFor = type => (type === "udp4" ? IPV4 : IPV6);
    return class LoopbackNetwork extends NodeJsNetwork {
        /** Every UDP socket bound so far, as {type, address, port}; see assertOperationalSockets. */
        bound = [];

        async createUdpSocket(options) {
            if (WILDCARDS.has(options.listeningAddress)) {
                options = { ...options, listeningAddress: loopbackFor(options.type) };
            }
            const socket = await super.createUdpSocket(options);
            this.bound.push({ type: options.type, address: options.listeningAddress, port: socket.port });
            return socket;
        }

        createTcpListener(options) {
            if (WILDCARDS.has(options.listeningAddress)) {
                options = { ...options, listeningAddress: IPV6 };
            }
            return super.createTcpListener(options);
        }
    };
}

/**
 * READY promises 127.0.0.1:port and [::1]:port. matter.js treats a missing IPv4 socket as non-fatal (it
 * logs at info and serves IPv6 only), so check that both really were bound before saying so.
 */
function assertOperationalSockets(network, port) {
    for (const [type, address] of [
        ["udp6", IPV6],
        ["udp4", IPV4],
    ]) {
        if (!network.bound.some(b => b.type === type && b.address === address && b.port === port)) {
            throw new Error(`the node reports port ${port} but no ${type} socket is bound at ${address}:${port}`);
        }
    }
}

/**
 * The local-mode provider server: stock OtaSoftwareUpdateProviderServer with only the documented extension
 * point checkUpdateAvailable() replaced.
 */
function localProviderClass(OtaSoftwareUpdateProviderServer, main, protocol) {
    const { SoftwareUpdateManager } = main;
    const { FileDesignator, PeerAddress } = protocol;

    return class LocalOtaProviderServer extends OtaSoftwareUpdateProviderServer {
        async checkUpdateAvailable(request, peerAddress) {
            const { vendorId, productId, softwareVersion } = request;
            return this.endpoint.act(async agent => {
                const manager = agent.get(SoftwareUpdateManager);
                const stored = await manager.internal.otaService.find({ vendorId, productId });
                // Core §11.20.6.5.1 (QueryImage), as digested in spec/ota-provider.md §4.1 step 3: only a
                // strictly newer image whose min/max applicable range covers the requestor's version; the
                // highest such wins. It is the stock SoftwareUpdateManager.updateExistsFor() rule minus
                // the stock peer-identity and consent checks.
                const candidates = stored
                    .filter(
                        entry =>
                            entry.vendorId === vendorId &&
                            entry.productId === productId &&
                            entry.softwareVersion > softwareVersion &&
                            softwareVersion >= (entry.minApplicableSoftwareVersion ?? 0) &&
                            softwareVersion <= (entry.maxApplicableSoftwareVersion ?? softwareVersion),
                    )
                    .sort((a, b) => b.softwareVersion - a.softwareVersion);
                const newest = candidates[0];
                if (newest === undefined) {
                    return undefined;
                }
                // Record consent for exactly this peer and version, replacing older ones for the peer (as
                // SoftwareUpdateManager.addUpdateConsent does, minus its peer lookup), so that
                // applyUpdateRequest() finds it and answers Proceed.
                const peer = PeerAddress(peerAddress);
                manager.internal.consents = [
                    ...manager.internal.consents.filter(c => !PeerAddress.is(c.peerAddress, peer)),
                    { vendorId, productId, targetSoftwareVersion: newest.softwareVersion, peerAddress: peer },
                ];
                return {
                    newSoftwareVersion: newest.softwareVersion,
                    newSoftwareVersionString: newest.softwareVersionString,
                    fileDesignator: new FileDesignator(`ota/${newest.filename}`),
                    consentRequired: false,
                };
            });
        }
    };
}

/** Store each image in the node's OTA store in "local" mode, as DclOtaUpdateService does for local files. */
async function importImages(otaService, images) {
    const stored = [];
    const seen = new Map();
    for (const file of images) {
        let info;
        try {
            info = await otaService.updateInfoFromStream(Readable.toWeb(createReadStream(file)), `file://${file}`);
        } catch (error) {
            throw new Error(`image ${file}: ${describeError(error)}`);
        }
        const key = `${info.vid}/${info.pid}/${info.softwareVersion}`;
        if (seen.has(key)) {
            throw new Error(
                `image ${file}: same VendorID/ProductID/SoftwareVersion (${key}) as ${seen.get(key)}; the store would overwrite it`,
            );
        }
        seen.set(key, file);
        let designator;
        try {
            designator = await otaService.store(Readable.toWeb(createReadStream(file)), info, "local");
        } catch (error) {
            throw new Error(`image ${file}: storing: ${describeError(error)}`);
        }
        // Report what the provider's own lookup (find(), used by checkUpdateAvailable) sees, so READY
        // cannot claim an image the provider would not serve. Its min/max come from the image header;
        // updateInfoFromStream() fills in DCL-style defaults instead, which the header may not have.
        const entry = (await otaService.find({ vendorId: info.vid, productId: info.pid })).find(
            e => e.mode === "local" && e.productId === info.pid && e.softwareVersion === info.softwareVersion,
        );
        if (entry === undefined) {
            throw new Error(`image ${file}: stored as ${designator.text} but the OTA store does not list it`);
        }
        stored.push({
            file,
            designator: designator.text,
            vendorId: entry.vendorId,
            productId: entry.productId,
            softwareVersion: entry.softwareVersion,
            softwareVersionString: entry.softwareVersionString,
            minApplicableSoftwareVersion: entry.minApplicableSoftwareVersion,
            maxApplicableSoftwareVersion: entry.maxApplicableSoftwareVersion,
            size: entry.size,
        });
    }
    return stored;
}

/** Resolve with the promise's value, or reject after ms. The timer never keeps the process alive. */
function withTimeout(promise, ms, what) {
    let timer;
    const timeout = new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
        timer.unref();
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Create and start the node, import the images, and return the READY record. */
async function startNode(opts, storage, loaded, setNode) {
    const { main: matter, protocol, network, OtaSoftwareUpdateProviderServer, OtaProviderEndpoint } = loaded;
    const providerServer =
        opts.mode === "local"
            ? localProviderClass(OtaSoftwareUpdateProviderServer, matter, protocol)
            : OtaSoftwareUpdateProviderServer;

    let node;
    try {
        node = await matter.ServerNode.create({
            id: "otaconf-provider",
            network: {
                port: opts.port,
                listeningAddressIpv4: IPV4,
                listeningAddressIpv6: IPV6,
                ble: false,
            },
            commissioning: { passcode: opts.passcode, discriminator: opts.discriminator },
            // Must be explicit: matter.js opens the commissioning window only for a node whose product
            // description has a device type, and infers one only from "simple" device classes, which the
            // OTA Provider (a utility device type) is not. Without it every PASE attempt gets
            // StatusReport(Failure, InvalidParam) because no PASE server is installed.
            productDescription: { name: "otaconf matter.js OTA provider", deviceType: OtaProviderEndpoint.deviceType },
            basicInformation: {
                vendorId: matter.VendorId(opts.vendorId),
                vendorName: "otaconf",
                productId: opts.productId,
                productName: "matter.js OTA provider peer",
                // Set explicitly: left at their defaults, matter.js warns about development values.
                hardwareVersion: 1,
                hardwareVersionString: "1",
                softwareVersion: 1,
                softwareVersionString: "1.0.0",
                nodeLabel: "otaconf-provider",
                serialNumber: `otaconf-${process.pid}`,
                uniqueId: `otaconf-${process.pid}-${Date.now()}`,
            },
            parts: [{ id: "ota-provider", type: OtaProviderEndpoint.with(providerServer) }],
        });
    } catch (error) {
        throw new Error(`creating the matter.js node: ${describeError(error)}`);
    }
    setNode(node);

    try {
        await node.start();
    } catch (error) {
        throw new Error(`starting the matter.js node on UDP port ${opts.port}: ${describeError(error)}`);
    }

    const port = node.state.network.operationalPort;
    assertOperationalSockets(network, port);

    const otaService = node.env.get(protocol.DclOtaUpdateService);
    await otaService.construction;
    const images = await importImages(otaService, opts.images);

    const { manualPairingCode, qrPairingCode } = node.state.commissioning.pairingCodes;
    return {
        port,
        endpoint: node.parts.get("ota-provider").number,
        ipv4: IPV4,
        ipv6: IPV6,
        passcode: opts.passcode,
        discriminator: opts.discriminator,
        vendorId: opts.vendorId,
        productId: opts.productId,
        manualPairingCode,
        qrPairingCode,
        mode: opts.mode,
        images,
        storage: storage.path,
        pid: process.pid,
        matterjs: MATTERJS_VERSION,
        node: process.versions.node,
    };
}

async function main() {
    const opts = parse(process.argv.slice(2));

    // Shutdown can be requested at any time, also during the 2-4 s import before a node exists: it closes
    // whatever exists by then, and start-up stops at its next step.
    let node;
    let storage;
    let shuttingDown = false;

    /** Close the node (bounded) and remove a storage dir we made. Returns the close error, if any. */
    const release = async () => {
        let failure;
        try {
            if (node !== undefined) {
                await withTimeout(node.close(), SHUTDOWN_TIMEOUT_MS, "closing the matter.js node");
            }
        } catch (error) {
            failure = error;
        }
        if (storage?.owned) {
            await rm(storage.path, { recursive: true, force: true }).catch(() => {});
        }
        return failure;
    };

    const shutdown = async (reason, code) => {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        if (reason !== undefined) {
            process.stderr.write(`${SCRIPT}: shutting down: ${reason}\n`);
        }
        const failure = await release();
        if (failure !== undefined) {
            die(SCRIPT, EXIT_ERROR, `error: shutdown: ${describeError(failure)}`);
        }
        process.exit(code);
    };

    for (const signal of ["SIGTERM", "SIGINT"]) {
        process.on(signal, () => {
            if (shuttingDown) {
                // A second signal while closing: the caller has lost patience.
                die(SCRIPT, EXIT_ERROR, `error: ${signal} during shutdown, exiting without a clean close`);
            }
            void shutdown(undefined, EXIT_OK);
        });
    }
    if (opts.watchStdin) {
        // The Go side holds the write end of our stdin pipe. EOF means it closed it or died; either way
        // nobody will ever stop us, so stop.
        process.stdin.on("end", () => void shutdown("stdin closed", EXIT_OK));
        process.stdin.on("error", error => void shutdown(`stdin error: ${error.message}`, EXIT_OK));
        process.stdin.on("data", () => {});
        process.stdin.resume();
    }
    if (opts.maxSeconds > 0) {
        setTimeout(
            () => void shutdown(`--x-max-seconds=${opts.maxSeconds} reached`, EXIT_MAX_SECONDS),
            opts.maxSeconds * 1000,
        ).unref();
    }

    let ready;
    try {
        storage = await prepareStorage(opts.storage, opts.removeStorage);
        const loaded = await loadMatter(opts, storage.path);
        if (shuttingDown) {
            return;
        }
        ready = await startNode(opts, storage, loaded, created => {
            node = created;
        });
    } catch (error) {
        if (shuttingDown) {
            // Start-up failed because shutdown pulled the node away; shutdown() reports and exits.
            return;
        }
        shuttingDown = true;
        await release();
        throw error;
    }
    if (!shuttingDown) {
        process.stdout.write(`${READY_PREFIX}${toJson(ready)}\n`);
    }
}

process.on("unhandledRejection", error =>
    die(SCRIPT, EXIT_ERROR, `error: unhandled rejection: ${describeError(error)}`),
);

await runMain(SCRIPT, USAGE, main);
