/**
 * The k3s installer the nodes run, pinned to an immutable commit of k3s-io/k3s rather than get.k3s.io, and the
 * sha256 the bootstrap checks it against before running it. The checksum is of install.sh at that commit (36455
 * bytes, read from the public k3s-io/k3s repository); other public projects pin the same file with the same value.
 * To move to another commit, take the file at that commit and replace both values together.
 */
export const K3S_INSTALLER = {
  url: "https://raw.githubusercontent.com/k3s-io/k3s/0136cf258954a458da1404858396342724b93d24/install.sh",
  sha256: "40b487f0d8ef4f5d1bf422e7bb6228cc7789c40ecc66c5ab067d396bbee9816e",
} as const;
