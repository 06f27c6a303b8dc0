//! Merkle trees of RFC 6962 (2.1): one KMS signature over a tree head vouches for every leaf,
//! each with its inclusion proof. This is how bulk registration signs a thousand credentials
//! with one KMS request (ARCHITECTURE.md, "Keys and cost").
//!
//! Written here rather than taken from a crate: the common crates hash leaves and nodes alike
//! (no 0x00/0x01 domain separation), which admits second-preimage forgeries of leaves.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH of RFC 6962 over leaf hashes; the empty tree's head is SHA-256 of nothing.
pub fn root(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root(&leaves[..k]), &root(&leaves[k..]))
        }
    }
}

/// Every perfect subtree of a tree, level by level (level 0 the leaves, level `k` the hashes
/// of the aligned blocks of 2^k leaves), computed once: the head of any prefix of the tree is
/// then O(log n) more hashes, where `root` over each prefix would rehash it all. The head of a
/// prefix of `m` leaves is `node(S1, node(S2, ... Sk))` over the perfect subtrees that
/// `m`'s binary digits mark, largest first (RFC 6962's split at the largest power of two).
/// A tree joined from parts hashed apart (on several cores) keeps the parts' levels as they
/// are: copying them into whole levels took longer than hashing the levels above them.
pub struct Levels {
    /// The lower levels, in parts of `part_size` leaves (the last one shorter; a tree hashed
    /// at once is one part): level `k` of part `p` is `parts[p][k]`, for `k` ≤ `height`.
    parts: Vec<Vec<Vec<Hash>>>,
    part_size: usize,
    height: usize,
    /// The levels above `height`, over the whole tree: level `height + 1 + k` is `above[k]`.
    above: Vec<Vec<Hash>>,
    size: usize,
}

/// The levels of a run of leaves up to a height, hashed on their own (on a core of their own)
/// for `Levels::join`.
pub struct Part {
    levels: Vec<Vec<Hash>>,
}

impl Part {
    /// The levels of `leaves` up to level `height`.
    pub fn new(leaves: Vec<Hash>, height: usize) -> Part {
        let mut levels = vec![leaves];
        while levels.len() <= height {
            match levels.last().filter(|l| l.len() > 1) {
                Some(below) => {
                    let above = pairs(below);
                    levels.push(above);
                }
                None => break,
            }
        }
        Part { levels }
    }

    fn size(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }
}

impl Levels {
    pub fn new(leaves: Vec<Hash>) -> Levels {
        let size = leaves.len();
        Levels {
            parts: vec![Part::new(leaves, usize::MAX).levels],
            part_size: usize::MAX,
            height: usize::MAX,
            above: Vec::new(),
            size,
        }
    }

    /// The tree of the parts' leaves, in order, from parts made by `Part::new(_, height)`.
    /// Each part but the last must hold 2^`height` leaves, the last at most as many: their
    /// levels are then the whole tree's, and only the levels above `height` are left to hash.
    /// Parts that do not align are hashed again from their leaves rather than joined into a
    /// wrong tree.
    pub fn join(parts: Vec<Part>, height: usize) -> Levels {
        let part_size = u32::try_from(height)
            .ok()
            .and_then(|h| 1usize.checked_shl(h))
            .unwrap_or(usize::MAX);
        if !aligned(&parts, height) {
            let leaves = parts.into_iter().flat_map(|p| p.levels.into_iter().next());
            return Levels::new(leaves.flatten().collect());
        }
        let size = parts.iter().map(Part::size).sum();
        // The parts' heads, paired level by level up to the tree's.
        let heads: Vec<Hash> = parts
            .iter()
            .filter_map(|p| p.levels.get(height))
            .flatten()
            .copied()
            .collect();
        let mut above = Vec::new();
        if heads.len() > 1 {
            above.push(pairs(&heads));
        }
        while let Some(below) = above.last().filter(|l| l.len() > 1) {
            let next = pairs(below);
            above.push(next);
        }
        Levels {
            parts: parts.into_iter().map(|p| p.levels).collect(),
            part_size,
            height,
            above,
            size,
        }
    }

    /// How many leaves the tree has.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The head of the perfect subtree at `level` whose first leaf is `first`.
    fn node(&self, level: usize, first: usize) -> Option<Hash> {
        if level <= self.height {
            let part = self.parts.get(first / self.part_size)?;
            let within = (first % self.part_size) >> level;
            part.get(level)?.get(within).copied()
        } else {
            let above = self.above.get(level - self.height - 1)?;
            above.get(first >> level).copied()
        }
    }

    /// MTH of the first `m` leaves (`m` ≤ the tree's size), as `root(&leaves[..m])`.
    pub fn root(&self, m: usize) -> Hash {
        if m == 0 || m > self.size() {
            return root(&[]);
        }
        // The perfect subtrees of the prefix, left to right: for each 1 bit of `m`, from the
        // highest, the block of 2^bit leaves that starts where the previous one ended.
        let mut subtrees = Vec::new();
        let mut offset = 0;
        for bit in (0..usize::BITS as usize).rev() {
            if m & (1 << bit) != 0 {
                subtrees.push(self.node(bit, offset));
                offset += 1 << bit;
            }
        }
        let Some(mut subtrees) = subtrees.into_iter().collect::<Option<Vec<Hash>>>() else {
            // Every perfect subtree of the tree is kept: not reached.
            return root(&self.leaves()[..m]);
        };
        let mut head = subtrees.pop().unwrap_or_else(|| root(&[]));
        while let Some(left) = subtrees.pop() {
            head = node_hash(&left, &head);
        }
        head
    }

    fn leaves(&self) -> Vec<Hash> {
        self.parts
            .iter()
            .filter_map(|p| p.first())
            .flatten()
            .copied()
            .collect()
    }
}

/// Whether every part but the last holds 2^`height` leaves, and the last no more.
fn aligned(parts: &[Part], height: usize) -> bool {
    let block = u32::try_from(height)
        .ok()
        .and_then(|h| 1usize.checked_shl(h));
    let Some(block) = block else {
        return parts.len() <= 1;
    };
    parts
        .split_last()
        .is_none_or(|(last, init)| last.size() <= block && init.iter().all(|p| p.size() == block))
}

/// The level above `below`: each aligned pair's node (a last odd hash waits for a larger tree).
fn pairs(below: &[Hash]) -> Vec<Hash> {
    below
        .chunks_exact(2)
        .map(|pair| node_hash(&pair[0], &pair[1]))
        .collect()
}

/// PATH(m, D[n]) of RFC 6962: the audit path of leaf `index`, bottom up.
pub fn proof(leaves: &[Hash], index: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || index >= n {
        return Vec::new();
    }
    let k = split(n);
    if index < k {
        let mut path = proof(&leaves[..k], index);
        path.push(root(&leaves[k..]));
        path
    } else {
        let mut path = proof(&leaves[k..], index - k);
        path.push(root(&leaves[..k]));
        path
    }
}

/// Recomputes the head from a leaf, its index, the tree size and its audit path (RFC 9162
/// 2.1.3.2); true when it equals `expected`.
pub fn verify(leaf: &Hash, index: usize, size: usize, path: &[Hash], expected: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *expected
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(format!("leaf {i}").as_bytes()))
            .collect()
    }

    // Y.3059 9.2 i g
    #[test]
    fn every_leaf_of_every_size_proves_its_inclusion() {
        for n in 1..=40 {
            let l = leaves(n);
            let head = root(&l);
            for i in 0..n {
                assert!(verify(&l[i], i, n, &proof(&l, i), &head), "n={n} i={i}");
            }
        }
    }

    #[test]
    fn a_proof_fails_for_another_leaf_index_or_head() {
        let l = leaves(13);
        let head = root(&l);
        let p = proof(&l, 5);
        assert!(!verify(&l[6], 5, 13, &p, &head));
        assert!(!verify(&l[5], 4, 13, &p, &head));
        // The size is not checked here: the signed tree head commits to it (bulk.rs).
        assert!(!verify(&l[5], 5, 13, &p, &root(&l[..12])));
        assert!(!verify(&l[5], 5, 13, &p[..p.len() - 1], &head));
    }

    #[test]
    fn leaves_and_nodes_are_hashed_apart() {
        // A node's preimage presented as a leaf must not reproduce the node.
        let l = leaves(2);
        let mut joined = l[0].to_vec();
        joined.extend_from_slice(&l[1]);
        assert_ne!(leaf_hash(&joined), root(&l));
    }

    #[test]
    fn the_head_of_every_prefix_is_that_of_the_prefix_alone() {
        let all = leaves(70);
        let levels = Levels::new(all.clone());
        for m in 0..=70 {
            assert_eq!(levels.root(m), root(&all[..m]), "prefix of {m}");
        }
    }

    #[test]
    fn a_tree_joined_from_aligned_parts_is_the_whole_tree() {
        for n in [1, 16, 69, 70] {
            let all = leaves(n);
            for height in 0..5 {
                let parts = all
                    .chunks(1 << height)
                    .map(|part| Part::new(part.to_vec(), height))
                    .collect();
                let joined = Levels::join(parts, height);
                assert_eq!(joined.size(), n);
                for m in 0..=n {
                    assert_eq!(
                        joined.root(m),
                        root(&all[..m]),
                        "n {n}, height {height}, m {m}"
                    );
                }
            }
        }
    }

    #[test]
    fn parts_that_do_not_align_are_hashed_again_not_joined() {
        let all = leaves(20);
        for cut in [3, 5, 8, 12] {
            let parts = vec![
                Part::new(all[..cut].to_vec(), 2),
                Part::new(all[cut..].to_vec(), 2),
            ];
            let joined = Levels::join(parts, 2);
            for m in 0..=20 {
                assert_eq!(joined.root(m), root(&all[..m]), "cut {cut}, m {m}");
            }
        }
        assert_eq!(Levels::join(Vec::new(), 2).root(0), root(&[]));
        let empty_first = vec![Part::new(Vec::new(), 2), Part::new(all[..3].to_vec(), 2)];
        assert_eq!(Levels::join(empty_first, 2).root(3), root(&all[..3]));
        let one = vec![Part::new(all.clone(), 70)];
        assert_eq!(Levels::join(one, 70).root(20), root(&all));
    }

    proptest! {
        #[test]
        fn random_paths_never_verify(n in 2usize..64, i in 0usize..64, noise in any::<[u8; 32]>()) {
            let l = leaves(n);
            let i = i % n;
            let mut p = proof(&l, i);
            p[0] = noise;
            prop_assume!(noise != proof(&l, i)[0]);
            prop_assert!(!verify(&l[i], i, n, &p, &root(&l)));
        }
    }
}
