#!/usr/bin/env node
// requestor.mjs is a matter.js 0.17.9 controller that commissions a running provider.mjs peer by IP and
// port (PASE, AddNOC, CASE; no mDNS) and then walks the OTA requestor side once: QueryImage, a BDX
// download of the offered image, ApplyUpdateRequest and NotifyUpdateApplied. It prints one JSON line with
// what each step returned. It exists to prove the peer's modes work end to end with matter.js's own
// client code; it is not otaconf's requestor, which is written in Go.
//
// Usage:
//   node requestor.mjs --x-port=N [--x-address=::1] [--x-passcode=20202021] [--x-endpoint=1]
//                      [--x-vendor-id=0xFFF1] [--x-product-id=0x8000] [--x-software-version=1]
//                      [--x-timeout-seconds=60] [--x-log-level=warn]
//
// Exit 0 with the JSON on stdout when every step got an answer (whatever the answer); exit 1 with one
// stderr line when a step failed outright (commissioning, a transport error, a BDX failure).

import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
    configureLogging,
    configureMatter,
    describeError,
    parseOptions,
    runMain,
    toJson,
    uintOption,
    UsageError,
} from "./cli.mjs";

const SCRIPT = "requestor.mjs";
const USAGE =
    "node requestor.mjs --x-port=N [--x-address=::1|127.0.0.1] [--x-passcode=N] [--x-endpoint=N] " +
    "[--x-vendor-id=N] [--x-product-id=N] [--x-software-version=N] [--x-timeout-seconds=N] [--x-log-level=L]";

function parse(argv) {
    const { values } = parseOptions(argv, {
        "x-port": { type: "string" },
        "x-address": { type: "string", default: "::1" },
        "x-passcode": { type: "string", default: "20202021" },
        "x-endpoint": { type: "string", default: "1" },
        "x-vendor-id": { type: "string", default: "0xFFF1" },
        "x-product-id": { type: "string", default: "0x8000" },
        "x-software-version": { type: "string", default: "1" },
        "x-timeout-seconds": { type: "string", default: "60" },
        "x-log-level": { type: "string", default: "warn" },
    });
    if (values["x-port"] === undefined) {
        throw new UsageError("--x-port is required");
    }
    if (values["x-address"] !== "::1" && values["x-address"] !== "127.0.0.1") {
        throw new UsageError(`--x-address=${values["x-address"]}: only ::1 and 127.0.0.1 (the peer is loopback-only)`);
    }
    return {
        port: uintOption("x-port", values["x-port"], 1, 65535),
        address: values["x-address"],
        passcode: uintOption("x-passcode", values["x-passcode"], 1, 99999998),
        endpoint: uintOption("x-endpoint", values["x-endpoint"], 1, 0xfffe),
        vendorId: uintOption("x-vendor-id", values["x-vendor-id"], 0, 0xffff),
        productId: uintOption("x-product-id", values["x-product-id"], 0, 0xffff),
        softwareVersion: uintOption("x-software-version", values["x-software-version"], 0, 0xffffffff),
        timeoutSeconds: uintOption("x-timeout-seconds", values["x-timeout-seconds"], 1, 3600),
        logLevel: values["x-log-level"],
    };
}

const hex = bytes => Buffer.from(bytes).toString("hex");

async function main() {
    const opts = parse(process.argv.slice(2));
    const storage = await mkdtemp(join(tmpdir(), "otaconf-requestor-"));
    // The whole run is bounded: every matter.js wait below has its own timeouts, but not all of them are
    // short, and a hung test is worse than a failed one.
    const deadline = setTimeout(() => {
        process.stderr.write(`${SCRIPT}: error: no result within ${opts.timeoutSeconds} s\n`);
        process.exit(1);
    }, opts.timeoutSeconds * 1000);
    deadline.unref();

    await configureMatter({ storagePath: storage });
    const matter = await import("@matter/main");
    const protocol = await import("@matter/main/protocol");
    const { OtaSoftwareUpdateProviderClient } = await import("@matter/main/behaviors/ota-software-update-provider");
    const { OtaSoftwareUpdateProvider } = await import("@matter/main/clusters/ota-software-update-provider");
    const { MemoryBlobStorageDriver } = await import("@matter/main");
    configureLogging(matter.Logger, opts.logLevel);
    matter.Logger.facilityLevels = { UdpMulticastServer: "error" };

    const env = matter.Environment.default;
    env.vars.set("path.root", storage);
    env.vars.set("storage.path", storage);
    env.vars.set("mdns.networkInterface", "lo");
    env.vars.set("mdns.ipv4", false);

    const controller = await matter.ServerNode.create(matter.ServerNode.RootEndpoint.with(matter.ControllerBehavior), {
        id: "otaconf-requestor",
        commissioning: { enabled: false },
        controller: { ble: false, adminFabricLabel: "otaconf" },
        network: { port: 0, listeningAddressIpv4: "127.0.0.1", listeningAddressIpv6: "::1" },
        // Explicit, so matter.js does not warn about development values.
        basicInformation: {
            vendorId: matter.VendorId(0xfff1),
            vendorName: "otaconf",
            productId: 0x8001,
            productName: "matter.js requestor",
            hardwareVersion: 1,
            hardwareVersionString: "1",
            softwareVersion: 1,
            softwareVersionString: "1.0.0",
        },
    });
    const result = { steps: {} };
    try {
        await controller.start();
        const address = { type: "udp", ip: opts.address, port: opts.port };
        // Without mDNS the CASE reconnect after AddNOC cannot resolve the node (spec/matterjs-peer.md
        // §2): seed the operational address, which PeerConnection uses as its fallback.
        controller.env.get(protocol.PeerSet).added.on(peer => {
            peer.descriptor.operationalAddress = address;
        });

        const t0 = performance.now();
        const peer = await controller.peers.forDescriptor({ addresses: [address] });
        await peer.commission({
            passcode: opts.passcode,
            autoSubscribe: false,
            // The peer's DAC chain is matter.js's generated development chain; nothing here can verify it.
            onAttestationFailure: () => true,
        });
        const nodeIdHex = id => BigInt(id).toString(16).toUpperCase().padStart(16, "0");
        result.steps.commission = {
            ms: Math.round(performance.now() - t0),
            // Reported because matter.js builds the ImageURI from the fabric's root (CaseAdminSubject)
            // node id, which is this controller's, not from the provider's own operational node id.
            providerNodeId: nodeIdHex(peer.peerAddress.nodeId),
            controllerNodeId: nodeIdHex(controller.env.get(protocol.FabricManager).fabrics[0].nodeId),
        };

        const endpoint = peer.parts.get(opts.endpoint) ?? peer.endpoints.for(opts.endpoint);
        const commands = endpoint.commandsOf(OtaSoftwareUpdateProviderClient);

        const query = await commands.queryImage({
            vendorId: matter.VendorId(opts.vendorId),
            productId: opts.productId,
            softwareVersion: opts.softwareVersion,
            protocolsSupported: [OtaSoftwareUpdateProvider.DownloadProtocol.BdxSynchronous],
            hardwareVersion: 0,
            location: "XX",
            requestorCanConsent: false,
        });
        result.steps.queryImage = {
            status: query.status,
            imageUri: query.imageUri,
            softwareVersion: query.softwareVersion,
            softwareVersionString: query.softwareVersionString,
            updateToken: query.updateToken === undefined ? undefined : hex(query.updateToken),
            delayedActionTime: query.delayedActionTime,
            userConsentNeeded: query.userConsentNeeded,
        };

        if (query.status === OtaSoftwareUpdateProvider.Status.UpdateAvailable) {
            // bdx://<16 hex node id>/<designator>
            const match = /^bdx:\/\/([0-9A-F]{16})\/(.+)$/.exec(query.imageUri ?? "");
            if (match === null) {
                throw new Error(`QueryImage: ImageURI ${JSON.stringify(query.imageUri)} is not bdx://<NodeID>/<designator>`);
            }
            const t1 = performance.now();
            const { context, slot } = await peer.interaction.initBdx();
            const target = new protocol.PersistedFileDesignator("download", new MemoryBlobStorageDriver());
            const bdx = protocol.BdxClient.asReceiver(context.messenger, {
                transferFileDesignator: new protocol.FileDesignator(match[2]),
                fileDesignator: target,
                preferredDriverModes: [protocol.Flow.DriverMode.ReceiverDrive],
                maxBlockSize: 1024,
            });
            await bdx.processTransfer();
            slot?.close();
            await context[Symbol.asyncDispose]();
            const data = new Uint8Array(await (await target.openBlob()).arrayBuffer());
            result.steps.download = {
                designator: match[2],
                bytes: data.byteLength,
                sha256: createHash("sha256").update(data).digest("hex"),
                ms: Math.round(performance.now() - t1),
            };

            const apply = await commands.applyUpdateRequest({
                updateToken: query.updateToken,
                newVersion: query.softwareVersion,
            });
            result.steps.applyUpdateRequest = { action: apply.action, delayedActionTime: apply.delayedActionTime };

            await commands.notifyUpdateApplied({ updateToken: query.updateToken, softwareVersion: query.softwareVersion });
            result.steps.notifyUpdateApplied = { status: 0 };
        }
    } catch (error) {
        throw new Error(describeError(error));
    } finally {
        await Promise.race([controller.close(), new Promise(resolve => setTimeout(resolve, 10_000).unref())]);
        await rm(storage, { recursive: true, force: true }).catch(() => {});
    }
    process.stdout.write(`${toJson(result)}\n`);
    process.exit(0);
}

await runMain(SCRIPT, USAGE, main);
