/**
 * A loopback stand-in for the few AWS API calls `terraform plan` makes on an empty state, so the real hashicorp/aws
 * provider can plan the stacks with no account and no network. It answers from a small, fixed world (one account,
 * the region's zones, Amazon Linux 2023 images, documented instance types) in each service's wire protocol, and
 * records every call; a call it does not know is answered with an error and listed in `unexpected`.
 *
 * It also serves as the HTTP(S) proxy of the terraform process: a request for any host other than 127.0.0.1 (an
 * endpoint the override missed) arrives here as a proxy request and is refused and listed, naming the host.
 */
import { randomUUID } from "crypto";
import { createServer, IncomingMessage, Server, ServerResponse } from "http";
import { AddressInfo, Socket } from "net";

/** One request, named as `<signing service>:<operation>` ("ec2:DescribeImages"), or the host for a proxy request. */
export interface StubCall {
  readonly call: string;
  /** The request's parameters as sent (Query form fields, or the JSON body). */
  readonly parameters: Record<string, unknown>;
}

export interface UnexpectedCall extends StubCall {
  /** Why the stub refused it. */
  readonly reason: string;
}

export interface AvailabilityZone {
  readonly zoneName: string;
  readonly zoneId: string;
  readonly zoneType: "availability-zone" | "local-zone" | "wavelength-zone";
  readonly optInStatus: "opt-in-not-required" | "opted-in" | "not-opted-in";
  readonly state: "available" | "information" | "impaired" | "unavailable";
  readonly groupName: string;
}

export interface MachineImage {
  readonly imageId: string;
  readonly name: string;
  readonly description: string;
  readonly ownerId: string;
  readonly ownerAlias: string;
  readonly architecture: "arm64" | "x86_64";
  /** ISO 8601, as DescribeImages reports it; `most_recent` picks by this. */
  readonly creationDate: string;
}

export interface InstanceTypeSpec {
  readonly vcpus: number;
  readonly memoryMiB: number;
  readonly architectures: readonly ("arm64" | "x86_64")[];
  readonly burstable: boolean;
}

export interface StubWorld {
  readonly accountId: string;
  /** The IAM identity GetCallerIdentity reports. */
  readonly callerArn: string;
  readonly region: string;
  readonly zones: readonly AvailabilityZone[];
  readonly images: readonly MachineImage[];
  readonly instanceTypes: Readonly<Record<string, InstanceTypeSpec>>;
  readonly prefixLists: readonly ManagedPrefixList[];
}

export interface ManagedPrefixList {
  readonly prefixListId: string;
  readonly prefixListName: string;
  readonly entries: readonly string[];
}

export interface AwsStub {
  /** http://127.0.0.1:<port>, for every service endpoint and as the proxy. */
  readonly endpoint: string;
  readonly calls: readonly StubCall[];
  readonly unexpected: readonly UnexpectedCall[];
  /** Settles with the first call the stub refuses. */
  readonly firstUnexpected: Promise<UnexpectedCall>;
  close(): Promise<void>;
}

/** AWS account used by the documentation's own examples. */
export const STUB_ACCOUNT_ID = "123456789012";

/** Amazon's account for Amazon Linux images (the `amazon` owner alias). */
export const AMAZON_IMAGE_OWNER = "137112412989";

/**
 * Instance types from the EC2 instance type specifications (docs.aws.amazon.com/ec2/latest/instancetypes): default
 * vCPUs and memory. Only documented types are answered; any other is refused, as AWS refuses a type it lacks.
 */
export const INSTANCE_TYPES: Readonly<Record<string, InstanceTypeSpec>> = {
  "t4g.small": { vcpus: 2, memoryMiB: 2048, architectures: ["arm64"], burstable: true },
  "t4g.medium": { vcpus: 2, memoryMiB: 4096, architectures: ["arm64"], burstable: true },
  "t4g.large": { vcpus: 2, memoryMiB: 8192, architectures: ["arm64"], burstable: true },
  "t4g.xlarge": { vcpus: 4, memoryMiB: 16384, architectures: ["arm64"], burstable: true },
  "m6g.large": { vcpus: 2, memoryMiB: 8192, architectures: ["arm64"], burstable: false },
  "m6g.xlarge": { vcpus: 4, memoryMiB: 16384, architectures: ["arm64"], burstable: false },
  "m7g.large": { vcpus: 2, memoryMiB: 8192, architectures: ["arm64"], burstable: false },
  "m7g.xlarge": { vcpus: 4, memoryMiB: 16384, architectures: ["arm64"], burstable: false },
  "c7g.large": { vcpus: 2, memoryMiB: 4096, architectures: ["arm64"], burstable: false },
  "r7g.large": { vcpus: 2, memoryMiB: 16384, architectures: ["arm64"], burstable: false },
  "t3.medium": { vcpus: 2, memoryMiB: 4096, architectures: ["x86_64"], burstable: true },
  "t3.large": { vcpus: 2, memoryMiB: 8192, architectures: ["x86_64"], burstable: true },
  "m6i.large": { vcpus: 2, memoryMiB: 8192, architectures: ["x86_64"], burstable: false },
  "m7i.large": { vcpus: 2, memoryMiB: 8192, architectures: ["x86_64"], burstable: false },
  "c6i.large": { vcpus: 2, memoryMiB: 4096, architectures: ["x86_64"], burstable: false },
};

/**
 * Availability zone letters per region (AWS Regions and Availability Zones list); a region not listed gets a, b
 * and c, which every commercial region has. Zone IDs are account-independent; the letters an account sees are not.
 */
const ZONE_LETTERS: Readonly<Record<string, string>> = {
  "us-east-1": "abcdef",
  "us-west-2": "abcd",
  "ap-northeast-1": "acd",
  "ap-northeast-2": "abcd",
};

/**
 * The fixed world for one region: its zones plus one opted-in Local Zone (as an account that enabled one sees it;
 * its name sorts before the zones, so a plan that forgot the opt-in filter would pick it), and Amazon Linux 2023
 * images of `releases` for both architectures, named as Amazon names them (al2023-ami-<release>-kernel-6.1-<arch>).
 */
export function stubWorld(region: string, releases: readonly string[]): StubWorld {
  const letters = ZONE_LETTERS[region] ?? "abc";
  const short = region.replace(/^([a-z]+)-([a-z])[a-z]*-(\d+)$/, "$1$2$3");
  const zones: AvailabilityZone[] = [...letters].map((letter, index) => ({
    zoneName: `${region}${letter}`,
    zoneId: `${short}-az${index + 1}`,
    zoneType: "availability-zone",
    optInStatus: "opt-in-not-required",
    state: "available",
    groupName: region,
  }));
  zones.push({ zoneName: `${region}-lcl-1a`, zoneId: `${short}-lcl1-az1`, zoneType: "local-zone", optInStatus: "opted-in", state: "available", groupName: `${region}-lcl-1` });
  const images: MachineImage[] = [];
  for (const [index, release] of releases.entries()) {
    const date = /^2023\.\d+\.(\d{4})(\d{2})(\d{2})\.\d+$/.exec(release);
    const creationDate = date ? `${date[1]}-${date[2]}-${date[3]}T00:00:00.000Z` : "2025-01-01T00:00:00.000Z";
    for (const architecture of ["arm64", "x86_64"] as const) {
      images.push({
        imageId: `ami-0${(index * 2 + (architecture === "arm64" ? 1 : 2)).toString(16).padStart(16, "a")}`,
        name: `al2023-ami-${release}-kernel-6.1-${architecture}`,
        description: `Amazon Linux 2023 AMI ${release} ${architecture} HVM kernel-6.1`,
        ownerId: AMAZON_IMAGE_OWNER,
        ownerAlias: "amazon",
        architecture,
        creationDate,
      });
    }
  }
  // CloudFront's origin-facing list: 55 entries, its documented weight (Amazon VPC User Guide, AWS-managed prefix
  // lists); the ranges are made up, not CloudFront's.
  const cloudFront: ManagedPrefixList = {
    prefixListId: "pl-0123456789abcdef0",
    prefixListName: "com.amazonaws.global.cloudfront.origin-facing",
    entries: Array.from({ length: 55 }, (_, index) => `198.51.${index}.0/24`),
  };
  return { accountId: STUB_ACCOUNT_ID, callerArn: `arn:aws:iam::${STUB_ACCOUNT_ID}:user/plan-offline`, region, zones, images, instanceTypes: INSTANCE_TYPES, prefixLists: [cloudFront] };
}

type Answer = { status: number; contentType: string; body: string };
type Handler = (parameters: Record<string, string>, world: StubWorld) => Answer | { refuse: string };

const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";
const EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/";

function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** { a: "x", list: [{ b: 1 }] } -> <a>x</a><list><item><b>1</b></item></list>: EC2's Query serialisation. */
function toXml(value: unknown): string {
  if (Array.isArray(value)) return value.map((item) => `<item>${toXml(item)}</item>`).join("");
  if (value !== null && typeof value === "object") {
    return Object.entries(value)
      .filter(([, item]) => item !== undefined)
      .map(([key, item]) => `<${key}>${toXml(item)}</${key}>`)
      .join("");
  }
  return escapeXml(String(value));
}

function ec2Response(action: string, body: Record<string, unknown>): Answer {
  return { status: 200, contentType: "text/xml;charset=UTF-8", body: `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${EC2_NS}"><requestId>${randomUUID()}</requestId>${toXml(body)}</${action}Response>` };
}

/** Query-protocol lists: Prefix.1, Prefix.2, ... */
function queryList(parameters: Record<string, string>, prefix: string): string[] {
  const values: string[] = [];
  for (let index = 1; parameters[`${prefix}.${index}`] !== undefined; index++) values.push(parameters[`${prefix}.${index}`]);
  return values;
}

/** Filter.N.Name / Filter.N.Value.M pairs. */
function queryFilters(parameters: Record<string, string>): { name: string; values: string[] }[] {
  const filters: { name: string; values: string[] }[] = [];
  for (let index = 1; parameters[`Filter.${index}.Name`] !== undefined; index++) {
    filters.push({ name: parameters[`Filter.${index}.Name`], values: queryList(parameters, `Filter.${index}.Value`) });
  }
  return filters;
}

/** EC2 filter values take `*` and `?` wildcards. */
function wildcardMatch(pattern: string, value: string): boolean {
  const expression = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${expression}$`).test(value);
}

/**
 * Applies EC2 filters to items, given the item field each supported filter name reads. A filter name outside that
 * table is refused rather than ignored, so the answer never silently differs from what AWS would return.
 */
function applyFilters<T>(items: readonly T[], filters: { name: string; values: string[] }[], fields: Record<string, (item: T) => string>): T[] | { refuse: string } {
  const unknown = filters.find((filter) => !fields[filter.name]);
  if (unknown) return { refuse: `filter ${unknown.name} is not supported by the stub` };
  return items.filter((item) => filters.every((filter) => filter.values.some((value) => wildcardMatch(value, fields[filter.name](item)))));
}

const HANDLERS: Record<string, Handler> = {
  "sts:GetCallerIdentity": (_parameters, world) => ({
    status: 200,
    contentType: "text/xml",
    body:
      `<GetCallerIdentityResponse xmlns="${STS_NS}"><GetCallerIdentityResult>` +
      `<Arn>${world.callerArn}</Arn><UserId>AIDAJQABLZS4A3QDU576Q</UserId><Account>${world.accountId}</Account>` +
      `</GetCallerIdentityResult><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></GetCallerIdentityResponse>`,
  }),

  "ec2:DescribeAvailabilityZones": (parameters, world) => {
    if (parameters.AllAvailabilityZones === "true") return { refuse: "AllAvailabilityZones is not supported by the stub" };
    const named = queryList(parameters, "ZoneName");
    const zones = applyFilters(
      world.zones.filter((zone) => named.length === 0 || named.includes(zone.zoneName)),
      queryFilters(parameters),
      {
        state: (zone) => zone.state,
        "opt-in-status": (zone) => zone.optInStatus,
        "zone-name": (zone) => zone.zoneName,
        "zone-id": (zone) => zone.zoneId,
        "zone-type": (zone) => zone.zoneType,
        "group-name": (zone) => zone.groupName,
        "region-name": () => world.region,
      },
    );
    if ("refuse" in zones) return zones;
    return ec2Response("DescribeAvailabilityZones", {
      availabilityZoneInfo: zones.map((zone) => ({
        zoneName: zone.zoneName,
        zoneState: zone.state,
        regionName: world.region,
        zoneId: zone.zoneId,
        zoneType: zone.zoneType,
        optInStatus: zone.optInStatus,
        groupName: zone.groupName,
        networkBorderGroup: zone.groupName,
        messageSet: [],
      })),
    });
  },

  "ec2:DescribeImages": (parameters, world) => {
    const owners = queryList(parameters, "Owner");
    const ids = queryList(parameters, "ImageId");
    const images = applyFilters(
      world.images.filter((image) => (owners.length === 0 || owners.some((owner) => owner === image.ownerId || owner === image.ownerAlias)) && (ids.length === 0 || ids.includes(image.imageId))),
      queryFilters(parameters),
      {
        name: (image) => image.name,
        architecture: (image) => image.architecture,
        "image-id": (image) => image.imageId,
        "owner-alias": (image) => image.ownerAlias,
        "owner-id": (image) => image.ownerId,
        state: () => "available",
        "image-type": () => "machine",
        "root-device-type": () => "ebs",
        "virtualization-type": () => "hvm",
        "is-public": () => "true",
      },
    );
    if ("refuse" in images) return images;
    return ec2Response("DescribeImages", {
      imagesSet: images.map((image) => ({
        imageId: image.imageId,
        imageLocation: `amazon/${image.name}`,
        imageState: "available",
        imageOwnerId: image.ownerId,
        creationDate: image.creationDate,
        isPublic: true,
        architecture: image.architecture,
        imageType: "machine",
        imageOwnerAlias: image.ownerAlias,
        name: image.name,
        description: image.description,
        rootDeviceType: "ebs",
        rootDeviceName: "/dev/xvda",
        blockDeviceMapping: [{ deviceName: "/dev/xvda", ebs: { snapshotId: `snap-0${image.imageId.slice(5)}`, volumeSize: 2, deleteOnTermination: true, volumeType: "gp3", iops: 3000, throughput: 125, encrypted: false } }],
        virtualizationType: "hvm",
        hypervisor: "xen",
        enaSupport: true,
        sriovNetSupport: "simple",
        bootMode: image.architecture === "arm64" ? "uefi" : "uefi-preferred",
        platformDetails: "Linux/UNIX",
        usageOperation: "RunInstances",
        imdsSupport: "v2.0",
      })),
    });
  },

  // The provider's aws_ami data source asks for the image's UEFI variable store by passing the image ID as an instance
  // ID (ec2_ami_data_source.go) and ignores the error; EC2 refuses an ID of the wrong kind as malformed.
  "ec2:GetInstanceUefiData": (parameters) => {
    const id = parameters.InstanceId ?? "";
    return /^i-[0-9a-f]{8,17}$/.test(id)
      ? errorAnswer("ec2", "InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`, false)
      : errorAnswer("ec2", "InvalidInstanceID.Malformed", `Invalid id: "${id}" (expecting "i-...")`, false);
  },

  // The provider's aws_ec2_managed_prefix_list data source filters by prefix-list-name, then reads the entries
  // (EC2 API reference, DescribeManagedPrefixLists and GetManagedPrefixListEntries). The world holds CloudFront's
  // origin-facing list, owned by AWS, with the documented weight (max entries) of 55.
  "ec2:DescribeManagedPrefixLists": (parameters, world) => {
    const ids = queryList(parameters, "PrefixListId");
    const lists = applyFilters(
      world.prefixLists.filter((list) => ids.length === 0 || ids.includes(list.prefixListId)),
      queryFilters(parameters),
      { "prefix-list-name": (list) => list.prefixListName, "prefix-list-id": (list) => list.prefixListId, "owner-id": () => "AWS" },
    );
    if ("refuse" in lists) return lists;
    return ec2Response("DescribeManagedPrefixLists", {
      prefixListSet: lists.map((list) => ({
        prefixListId: list.prefixListId,
        addressFamily: "IPv4",
        state: "create-complete",
        prefixListArn: `arn:aws:ec2:${world.region}:aws:prefix-list/${list.prefixListId}`,
        prefixListName: list.prefixListName,
        maxEntries: list.entries.length,
        version: 1,
        tagSet: [],
        ownerId: "AWS",
      })),
    });
  },

  "ec2:GetManagedPrefixListEntries": (parameters, world) => {
    const list = world.prefixLists.find((candidate) => candidate.prefixListId === parameters.PrefixListId);
    if (!list) return { refuse: `prefix list ${parameters.PrefixListId} is not in the stub's world` };
    return ec2Response("GetManagedPrefixListEntries", { entrySet: list.entries.map((cidr) => ({ cidr })) });
  },

  "ec2:DescribeInstanceTypes": (parameters, world) => {
    if (queryFilters(parameters).length > 0) return { refuse: "filters are not supported by the stub" };
    const requested = queryList(parameters, "InstanceType");
    const missing = requested.filter((type) => !world.instanceTypes[type]);
    // AWS answers a type it does not offer with InvalidInstanceType; the stub knows only the documented table.
    if (missing.length > 0) return { refuse: `instance type ${missing.join(", ")} is not in the stub's INSTANCE_TYPES (scripts/aws-stub.ts)` };
    return ec2Response("DescribeInstanceTypes", {
      instanceTypeSet: requested.map((type) => {
        const spec = world.instanceTypes[type];
        return {
          instanceType: type,
          currentGeneration: true,
          freeTierEligible: false,
          supportedUsageClasses: ["on-demand", "spot"],
          supportedRootDeviceTypes: ["ebs"],
          supportedVirtualizationTypes: ["hvm"],
          bareMetal: false,
          hypervisor: "nitro",
          processorInfo: { supportedArchitectures: spec.architectures, sustainedClockSpeedInGhz: 2.5 },
          vCpuInfo: { defaultVCpus: spec.vcpus, defaultCores: spec.vcpus, defaultThreadsPerCore: 1 },
          memoryInfo: { sizeInMiB: spec.memoryMiB },
          instanceStorageSupported: false,
          ebsInfo: { ebsOptimizedSupport: "default", encryptionSupport: "supported", nvmeSupport: "required" },
          networkInfo: {
            networkPerformance: "Up to 12.5 Gigabit",
            maximumNetworkInterfaces: 3,
            maximumNetworkCards: 1,
            defaultNetworkCardIndex: 0,
            networkCards: [{ networkCardIndex: 0, networkPerformance: "Up to 12.5 Gigabit", maximumNetworkInterfaces: 3 }],
            ipv4AddressesPerInterface: 12,
            ipv6AddressesPerInterface: 12,
            ipv6Supported: true,
            enaSupport: "required",
            efaSupported: false,
            encryptionInTransitSupported: false,
          },
          placementGroupInfo: { supportedStrategies: ["cluster", "partition", "spread"] },
          hibernationSupported: false,
          burstablePerformanceSupported: spec.burstable,
          dedicatedHostsSupported: false,
          autoRecoverySupported: true,
          supportedBootModes: spec.architectures.includes("arm64") ? ["uefi"] : ["legacy-bios", "uefi"],
        };
      }),
    });
  },
};

/** The service a request is signed for: the fourth part of the SigV4 credential scope. */
function signingService(request: IncomingMessage): string {
  const authorization = request.headers.authorization ?? "";
  return /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization)?.[1] ?? "unsigned";
}

function errorAnswer(service: string, code: string, message: string, json: boolean): Answer {
  if (json) return { status: 400, contentType: "application/x-amz-json-1.1", body: JSON.stringify({ __type: code, message }) };
  const body =
    service === "ec2"
      ? `<Response><Errors><Error><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`
      : `<ErrorResponse><Error><Type>Sender</Type><Code>${code}</Code><Message>${escapeXml(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
  return { status: 400, contentType: "text/xml", body };
}

export async function startAwsStub(world: StubWorld): Promise<AwsStub> {
  const calls: StubCall[] = [];
  const unexpected: UnexpectedCall[] = [];
  const sockets = new Set<Socket>();
  let reportUnexpected: (call: UnexpectedCall) => void = () => undefined;
  const firstUnexpected = new Promise<UnexpectedCall>((resolve) => (reportUnexpected = resolve));

  const refuse = (call: string, parameters: Record<string, unknown>, reason: string) => {
    calls.push({ call, parameters });
    unexpected.push({ call, parameters, reason });
    reportUnexpected({ call, parameters, reason });
  };

  const server: Server = createServer((request: IncomingMessage, response: ServerResponse) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const answer = (result: Answer) => {
        response.writeHead(result.status, { "Content-Type": result.contentType, "x-amzn-RequestId": randomUUID() });
        response.end(result.body);
      };
      // A proxy request names an absolute URL: an endpoint that was not pointed here.
      if (/^https?:\/\//.test(request.url ?? "")) {
        refuse(`proxy:${request.method} ${request.url}`, {}, "request for a host other than the stub (an endpoint not overridden)");
        response.writeHead(403).end();
        return;
      }
      const service = signingService(request);
      const target = request.headers["x-amz-target"];
      if (typeof target === "string") {
        // JSON protocol: X-Amz-Target is "<ServicePrefix>.<Operation>".
        const call = `${service}:${target.split(".").pop()}`;
        let parameters: Record<string, unknown> = {};
        try {
          parameters = JSON.parse(body || "{}");
        } catch {
          parameters = { body };
        }
        refuse(call, parameters, "no handler");
        answer(errorAnswer(service, "UnknownOperationException", `${call} is not answered by the plan stub`, true));
        return;
      }
      const form = Object.fromEntries(new URLSearchParams(body));
      if (request.method === "POST" && form.Action) {
        const call = `${service}:${form.Action}`;
        const handler = HANDLERS[call];
        const result = handler ? handler(form, world) : { refuse: "no handler" };
        if ("refuse" in result) {
          refuse(call, form, result.refuse);
          answer(errorAnswer(service, "UnsupportedOperation", `${call} is not answered by the plan stub: ${result.refuse}`, false));
          return;
        }
        calls.push({ call, parameters: form });
        answer(result);
        return;
      }
      // REST protocols (S3, Lambda, EFS, ...): the path names the operation.
      refuse(`${service}:${request.method} ${request.url}`, body ? { body } : {}, "no handler");
      answer(errorAnswer(service, "UnsupportedOperation", `${request.method} ${request.url} is not answered by the plan stub`, false));
    });
  });

  // HTTPS through the proxy opens a tunnel: refuse it, naming the host the request was for.
  server.on("connect", (request: IncomingMessage, socket: Socket) => {
    refuse(`proxy:CONNECT ${request.url}`, {}, "request for a host other than the stub (an endpoint not overridden)");
    socket.end("HTTP/1.1 403 Forbidden\r\n\r\n");
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    unexpected,
    firstUnexpected,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
