//! Consistency proofs of RFC 9162 (2.1.4): that a tree of `m` leaves is a prefix of one of `n`.
//! Inclusion proofs are `merkle::proof` / `merkle::verify` (2.1.3).

use crate::merkle::{self, Hash};

/// PROOF(m, D[n]) (RFC 9162 2.1.4.1) over the leaf hashes of the larger tree.
pub fn consistency(leaves: &[Hash], m: usize) -> Vec<Hash> {
    if m == 0 || m >= leaves.len() {
        return Vec::new();
    }
    let mut out = Vec::new();
    subproof(m, leaves, true, &mut out);
    out
}

fn subproof(m: usize, d: &[Hash], complete: bool, out: &mut Vec<Hash>) {
    let n = d.len();
    if m == n {
        if !complete {
            out.push(merkle::root(d));
        }
        return;
    }
    let k = 1usize << (usize::BITS - 1 - (n - 1).leading_zeros());
    if m <= k {
        subproof(m, &d[..k], complete, out);
        out.push(merkle::root(&d[k..]));
    } else {
        subproof(m - k, &d[k..], false, out);
        out.push(merkle::root(&d[..k]));
    }
}

/// Verifies a consistency proof (RFC 9162 2.1.4.2) between heads of `first` and `second`
/// leaves.
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_hash: &Hash,
    second_hash: &Hash,
    proof: &[Hash],
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_hash == second_hash;
    }
    if first == 0 {
        // The empty tree is a prefix of every tree.
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if first.is_power_of_two() {
        path.push(*first_hash);
    }
    path.extend_from_slice(proof);
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = merkle::node_hash(c, &fr);
            sr = merkle::node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = merkle::node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    fr == *first_hash && sr == *second_hash && sn == 0
}
