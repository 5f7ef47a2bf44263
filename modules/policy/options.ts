import { IConstruct } from "constructs";

/** What the rules need to know about the stack that its JSON does not say. */
export interface PolicyOptions {
  /**
   * `dev` stacks may leave RDS deletion protection off (rule rds-deletion-protection).
   * @default undefined (a stack without a database: every rule applies in full)
   */
  readonly environment?: string;
  /**
   * The documented reach of the stack's security groups: world-open ingress and egress to addresses (CIDRs, prefix
   * lists) beyond it are violations (rules sg-public-ingress and sg-egress-reach).
   * @default no world-open ingress and no egress to addresses
   */
  readonly networkReach?: NetworkReach;
  /**
   * A KMS key is configured for CloudWatch Logs, so every log group must name one (rule storage-encryption).
   * CloudWatch Logs encrypts every log group at rest without it.
   * @default false
   */
  readonly logGroupKmsKey?: boolean;
}

/** World-open ingress a security group may have. */
export interface PublicIngress {
  readonly securityGroup: IConstruct;
  readonly protocol: "tcp" | "udp";
  readonly ports: number[];
  /** Why the world may reach it, for the reader of the table. */
  readonly why: string;
}

/** Egress to an address range (not to a security group) a security group may have. */
export interface AddressEgress {
  readonly securityGroup: IConstruct;
  /** "-1": all protocols and ports. */
  readonly protocol: "tcp" | "udp" | "-1";
  /** The single port, unless all protocols. */
  readonly port?: number;
  readonly cidr: string;
  /** What is reached there, for the reader of the table. */
  readonly why: string;
}

export interface NetworkReach {
  readonly publicIngress: PublicIngress[];
  readonly egress: AddressEgress[];
}
