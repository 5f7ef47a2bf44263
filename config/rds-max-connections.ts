/**
 * RDS for PostgreSQL's default max_connections, derived the way its default parameter group does:
 * `LEAST({DBInstanceClassMemory/9531392},5000)` (RDS User Guide, "Quotas and constraints for Amazon RDS", Maximum
 * number of database connections: https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/CHAP_Limits.html#RDS_Limits.MaxConnections).
 *
 * Assumption: DBInstanceClassMemory is taken as the class's nominal memory. RDS subtracts what the operating system
 * and its own processes reserve, so the real value is lower (about 180 rather than 225 on a db.t4g.small, as the
 * README's Datastore section notes); the connections alarm's default share allows for that.
 */

const GIB = 1024 ** 3;

/** Bytes of memory per connection in the default parameter group's formula. */
export const BYTES_PER_CONNECTION = 9531392;
/** The formula's ceiling. */
export const MAX_CONNECTIONS_CEILING = 5000;

/**
 * Nominal memory (GiB) of the burstable classes, whose memory does not follow their vCPUs (RDS User Guide, "Hardware
 * specifications for DB instance classes").
 */
export const BURSTABLE_MEMORY_GIB: Readonly<Record<string, number>> = {
  "db.t3.micro": 1, "db.t3.small": 2, "db.t3.medium": 4, "db.t3.large": 8, "db.t3.xlarge": 16, "db.t3.2xlarge": 32,
  "db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8, "db.t4g.xlarge": 16, "db.t4g.2xlarge": 32,
};

/**
 * GiB per vCPU of the families whose memory is a fixed multiple of their vCPUs (same source): general purpose from m4
 * on (m5d, m6g, m6i, m7g, ... included) 4, memory optimised from r5 on 8, x2g 16. Older r3/r4 (15.25 GiB per large)
 * and other families are not covered.
 */
const MEMORY_PER_VCPU: readonly [family: RegExp, gibPerVcpu: number][] = [
  [/^m[4-9][a-z]*$/, 4],
  [/^r[5-9][a-z]*$/, 8],
  [/^x2g$/, 16],
];

/** vCPUs of a size: large 2, xlarge 4, <n>xlarge 4n. */
function vcpusOf(size: string): number | undefined {
  if (size === "large") return 2;
  const xlarge = /^(\d*)xlarge$/.exec(size);
  return xlarge ? 4 * Number(xlarge[1] || 1) : undefined;
}

/** Nominal memory of an RDS instance class in GiB, or undefined when neither the table nor the family rule knows it. */
export function instanceMemoryGib(instanceClass: string): number | undefined {
  if (Object.hasOwn(BURSTABLE_MEMORY_GIB, instanceClass)) return BURSTABLE_MEMORY_GIB[instanceClass];
  const parts = /^db\.([a-z0-9]+)\.([a-z0-9]+)$/.exec(instanceClass);
  if (!parts) return undefined;
  const [, family, size] = parts;
  const perVcpu = MEMORY_PER_VCPU.find(([pattern]) => pattern.test(family))?.[1];
  const vcpus = vcpusOf(size);
  return perVcpu !== undefined && vcpus !== undefined ? perVcpu * vcpus : undefined;
}

/** The default max_connections of an instance class, or undefined when the table does not know the class. */
export function defaultMaxConnections(instanceClass: string): number | undefined {
  const memoryGib = instanceMemoryGib(instanceClass);
  if (memoryGib === undefined) return undefined;
  return Math.min(Math.floor((memoryGib * GIB) / BYTES_PER_CONNECTION), MAX_CONNECTIONS_CEILING);
}
