use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use p256::ecdsa::{DerSignature, SigningKey, signature::Signer};
use proptest::prelude::*;

use super::note::{EcdsaNoteKey, NoteVerifyError, key_id};
use super::tiles::{self, WIDTH, tiles_for};
use super::*;
use crate::merkle::{self, Hash};

fn data(n: u64) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("leaf {i}").into_bytes()).collect()
}

fn hashes(d: &[Vec<u8>]) -> Vec<Hash> {
    d.iter().map(|e| merkle::leaf_hash(e)).collect()
}

#[test]
fn tile_paths_are_those_of_the_spec() {
    // c2sp.org/tlog-tiles: "index 1234067 will be encoded as x001/x234/067".
    let t = Tile {
        kind: TileKind::Hashes(0),
        index: 1_234_067,
        width: 256,
    };
    assert_eq!(t.path(), "tile/0/x001/x234/067");
    let p = Tile { width: 89, ..t };
    assert_eq!(p.path(), "tile/0/x001/x234/067.p/89");
    let e = Tile {
        kind: TileKind::Entries,
        index: 5,
        width: 12,
    };
    assert_eq!(e.path(), "tile/entries/005.p/12");
    assert_eq!(tiles::encode_index(1000), "x001/000");
    for t in [t, p, e] {
        assert_eq!(Tile::parse(&t.path()), Ok(t));
    }
    let top = Tile::parse("tile/63/x999/x999/x999/x999/x999/999.p/255").unwrap();
    assert_eq!(top.index, 999_999_999_999_999_999);
}

#[test]
fn non_canonical_tile_paths_are_refused() {
    for bad in [
        "tile/0/1",
        "tile/0/x1/000",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/07",
        "tile/00/000",
        "tile/64/000",
        "tile/0/001/002",
        "tile/x/000",
        "tiles/0/000",
        "tile/0/000/",
    ] {
        assert!(Tile::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn the_edge_head_is_the_rfc_9162_head_at_every_size() {
    // Sizes around one and two tile boundaries, in uneven batches.
    let all = data(256 * 3 + 7);
    let mut edge = Edge::default();
    let mut at = 0usize;
    for batch in [1usize, 2, 3, 250, 1, 255, 256, 1, 4].iter().cycle() {
        if at >= all.len() {
            break;
        }
        let end = (at + batch).min(all.len());
        edge.append(&all[at..end]);
        at = end;
        assert_eq!(edge.size, at as u64);
        assert_eq!(edge.root(), merkle::root(&hashes(&all[..at])), "size {at}");
    }
    assert_eq!(Edge::default().root(), merkle::root(&[]));
}

#[test]
fn stored_tiles_rebuild_the_tree() {
    // Apply each append's tiles to a store, as the sequencer does; then read the tree back as
    // a verifier does, from the tiles a checkpoint of that size names.
    let n: usize = 256 * 256 + 300;
    let all = data(n as u64);
    let mut edge = Edge::default();
    let mut store = std::collections::HashMap::new();
    for chunk in all.chunks(1000) {
        for (tile, bytes) in edge.append(chunk).tiles {
            if tile.width as u64 == WIDTH {
                assert!(
                    store.insert(tile.path(), bytes).is_none(),
                    "full tile rewritten"
                );
            } else {
                store.insert(tile.path(), bytes);
            }
        }
    }
    let mut leaves = Vec::new();
    let mut level1 = Vec::new();
    for tile in tiles_for(n as u64) {
        let bytes = store
            .get(&tile.path())
            .unwrap_or_else(|| panic!("{}", tile.path()));
        match tile.kind {
            TileKind::Entries => leaves.extend(tiles::parse_entries(bytes, tile.width).unwrap()),
            TileKind::Hashes(1) => level1.extend(tiles::parse_hashes(bytes, tile.width).unwrap()),
            TileKind::Hashes(_) => {}
        }
    }
    assert_eq!(leaves, all);
    // Level 1 holds the head of each full 256-leaf subtree.
    assert_eq!(level1.len(), n / 256);
    assert_eq!(level1[3], merkle::root(&hashes(&all[768..1024])));
    // And an edge rebuilt from the partial tiles carries on where the first stopped.
    let level = |l: u8, w: u16, i: u64| {
        tiles::parse_hashes(
            &store[&Tile {
                kind: TileKind::Hashes(l),
                index: i,
                width: w,
            }
            .path()],
            w,
        )
        .unwrap()
    };
    let partial_entries = tiles::parse_entries(
        &store[&Tile {
            kind: TileKind::Entries,
            index: (n / 256) as u64,
            width: 44,
        }
        .path()],
        44,
    )
    .unwrap();
    let mut again = Edge::from_tiles(
        n as u64,
        partial_entries,
        vec![level(0, 44, 257), level(1, 1, 1), level(2, 1, 0)],
    );
    assert_eq!(again.root(), edge.root());
    let more = data(n as u64 + 10);
    again.append(&more[n..]);
    assert_eq!(again.root(), merkle::root(&hashes(&more)));
}

#[test]
fn a_checkpoint_reads_as_the_spec_writes_it() {
    // The example of c2sp.org/tlog-checkpoint.
    let text =
        "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
    let c = Checkpoint::parse(text).unwrap();
    assert_eq!(c.origin, "example.com/behind-the-sofa");
    assert_eq!(c.size, 20_852_163);
    assert_eq!(c.text(), text);
    let ext = format!("{text}extension line\n");
    assert_eq!(
        Checkpoint::parse(&ext).unwrap().extensions,
        ["extension line"]
    );
    for bad in [
        "o\n1\nAAAA\n",
        "o\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
        "\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
        "o\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
    ] {
        assert!(Checkpoint::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn the_specs_signed_note_parses_and_its_key_id_is_recomputed() {
    // The example key and note of c2sp.org/signed-note (Ed25519, type 0x01).
    let vkey = "AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
    let bytes = STANDARD.decode(vkey).unwrap();
    assert_eq!(bytes[0], 0x01);
    assert_eq!(key_id("example.com/foo", 0x01, &bytes[1..]), 0x530d_903a);
    let note = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";
    let n = SignedNote::parse(note).unwrap();
    assert_eq!(n.text, "This is an example message.\n");
    assert_eq!(n.signatures.len(), 1);
    assert_eq!(n.signatures[0].key_id, 0x530d_903a);
    assert_eq!(n.signatures[0].signature.len(), 64);
    assert_eq!(n.to_string(), note);
    for bad in [
        "no blank line\n\u{2014} a AAAAAAA=\n",
        "text\n\n- a AAAAAAA=\n",
        "text\n\n\u{2014} a+b AAAAAAA=\n",
        "text\n\n\u{2014} a AAAAAAA=",
        "te\u{7}xt\n\n\u{2014} a AAAAAAA=\n",
    ] {
        assert!(SignedNote::parse(bad).is_err(), "{bad:?}");
    }
}

fn signed_checkpoint(key: &SigningKey, name: &str, text: &str) -> SignedNote {
    let k = EcdsaNoteKey {
        name: name.into(),
        key: *key.verifying_key(),
    };
    let sig: DerSignature = key.sign(text.as_bytes());
    SignedNote {
        text: text.into(),
        signatures: vec![k.signature(sig.as_bytes().to_vec())],
    }
}

// Y.3059 9.1 iv
#[test]
fn an_ecdsa_checkpoint_verifies_and_a_changed_one_does_not() {
    let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
    let k = EcdsaNoteKey {
        name: "001.002".into(),
        key: *key.verifying_key(),
    };
    let c = Checkpoint::new("001.002", 3, merkle::root(&hashes(&data(3))));
    let note = signed_checkpoint(&key, "001.002", &c.text());
    let round = SignedNote::parse(&note.to_string()).unwrap();
    assert_eq!(round, note);
    assert_eq!(k.verify(&round), Ok(()));
    assert!(
        k.verifier_key()
            .starts_with(&format!("001.002+{:08x}+", k.key_id()))
    );

    let rolled = Checkpoint::new("001.002", 2, c.root);
    let forged = SignedNote {
        text: rolled.text(),
        ..note.clone()
    };
    assert_eq!(
        k.verify(&forged),
        Err(NoteVerifyError::BadSignature("001.002".into()))
    );
    let other = SigningKey::from_slice(&[9u8; 32]).unwrap();
    let by_other = signed_checkpoint(&other, "001.002", &c.text());
    assert_eq!(
        k.verify(&by_other),
        Err(NoteVerifyError::Unsigned("001.002".into()))
    );
}

#[test]
fn consistency_proofs_of_every_pair_of_sizes_verify() {
    let all = hashes(&data(70));
    for n in 1..=all.len() {
        let head = merkle::root(&all[..n]);
        for m in 0..=n {
            let old = merkle::root(&all[..m]);
            let p = proofs::consistency(&all[..n], m);
            assert!(
                proofs::verify_consistency(m as u64, n as u64, &old, &head, &p),
                "m={m} n={n}"
            );
            if m > 0 && m < n {
                // A forked old head fails.
                let forked = merkle::leaf_hash(b"fork");
                assert!(!proofs::verify_consistency(
                    m as u64, n as u64, &forked, &head, &p
                ));
                // So does a proof with any hash changed.
                for i in 0..p.len() {
                    let mut q = p.clone();
                    q[i][0] ^= 1;
                    assert!(!proofs::verify_consistency(
                        m as u64, n as u64, &old, &head, &q
                    ));
                }
            }
        }
    }
}

#[test]
fn the_rfc_9162_consistency_example_has_its_shape() {
    // RFC 9162 2.1.5: the proof between sizes 3 and 7 is [c, d, g, l]: four hashes, the old
    // tree's last leaf first.
    let all = hashes(&data(7));
    let p = proofs::consistency(&all, 3);
    assert_eq!(
        p,
        vec![
            all[2],
            all[3],
            merkle::root(&all[..2]),
            merkle::root(&all[4..7])
        ]
    );
    // And 4 -> 7 is [l] alone (the old head, a power of two, is implied).
    assert_eq!(proofs::consistency(&all, 4), vec![merkle::root(&all[4..7])]);
}

#[test]
fn an_audit_leaf_names_the_record_and_hides_its_content() {
    let r = crate::records::AuditRecord {
        id: "0001764000000000-abcd".into(),
        at_ms: 1_764_000_000_000,
        actor: "owner:alice@example.com".into(),
        action: "register".into(),
        target: Some("001:imei:1234".into()),
        outcome: crate::records::Outcome::Accepted,
        code: None,
    };
    let leaf = leaf::audit_leaf(&r);
    let text = String::from_utf8(leaf.clone()).unwrap();
    assert!(!text.contains("alice") && !text.contains("imei"));
    let (id, digest) = leaf::parse_leaf(&leaf).unwrap();
    assert_eq!(id, r.id);
    assert_eq!(digest, leaf::record_digest(&r));
    let altered = crate::records::AuditRecord {
        action: "withdraw".into(),
        ..r
    };
    assert_ne!(leaf::record_digest(&altered), digest);
}

proptest! {
    #[test]
    fn tile_paths_round_trip(level in 0u8..64, index in any::<u64>(), width in 1u16..=256) {
        let t = Tile { kind: TileKind::Hashes(level), index, width };
        prop_assert_eq!(Tile::parse(&t.path()), Ok(t));
    }
}
