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

mod sequencer {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::Registry;
    use crate::fakes::{FakeRegistry, MemoryKeys, MemoryStore};
    use crate::ports::AuditLogStore;
    use crate::records::{AuditRecord, Outcome};

    pub(super) fn fixture() -> (Registry, Arc<MemoryStore>, Arc<MemoryKeys>) {
        let FakeRegistry {
            registry,
            store,
            keys,
            ..
        } = FakeRegistry::builder()
            .path("001.002")
            .key_seed(5)
            .clock_at(1_764_000_000_000)
            .build();
        (registry, store, keys)
    }

    pub(super) fn records(from: usize, n: usize) -> Vec<AuditRecord> {
        (from..from + n)
            .map(|i| AuditRecord {
                id: format!("{:016}-{i:04x}", 1_764_000_000_000u64 + i as u64),
                at_ms: 1_764_000_000_000 + i as u64,
                actor: format!("owner:{i}"),
                action: "register".into(),
                target: None,
                outcome: Outcome::Accepted,
                code: None,
            })
            .collect()
    }

    // Y.3059 7 i c
    #[tokio::test]
    async fn a_batch_becomes_leaves_under_one_signed_checkpoint() {
        let (registry, store, keys) = fixture();
        let batch = records(0, 300);
        let done = registry.sequence(&batch).await.unwrap();
        assert_eq!((done.appended, done.size, done.signed), (300, 300, true));
        // One KMS signature for the whole batch.
        assert_eq!(keys.sign_calls.load(Ordering::SeqCst), 1);
        let stored = store.checkpoint().await.unwrap().unwrap();
        let note = SignedNote::parse(&stored.note).unwrap();
        registry.log_key().await.unwrap().verify(&note).unwrap();
        let c = Checkpoint::parse(&note.text).unwrap();
        assert_eq!(c.origin, "001.002");
        let leaves: Vec<Vec<u8>> = batch.iter().map(leaf::audit_leaf).collect();
        assert_eq!((c.size, c.root), (300, merkle::root(&hashes(&leaves))));
        let ids: Vec<String> = batch.iter().map(|r| r.id.clone()).collect();
        let indexes = store.leaf_indexes(&ids).await.unwrap();
        assert_eq!(indexes[&batch[0].id], 0);
        assert_eq!(indexes[&batch[299].id], 299);
    }

    #[tokio::test]
    async fn a_batch_delivered_again_appends_nothing() {
        let (registry, _store, keys) = fixture();
        let batch = records(0, 90);
        registry.sequence(&batch).await.unwrap();
        let mut again = records(85, 10);
        again.extend(records(85, 10));
        let done = registry.sequence(&again).await.unwrap();
        assert_eq!((done.appended, done.already, done.size), (5, 5, 95));
        let done = registry.sequence(&batch).await.unwrap();
        assert_eq!((done.appended, done.already, done.signed), (0, 90, false));
        assert_eq!(keys.sign_calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_checkpoint_left_unsigned_is_signed_by_the_next_batch() {
        let (registry, store, _keys) = fixture();
        // A sequencer that appended and died before signing.
        let mut edge = Edge::default();
        let leaves: Vec<Vec<u8>> = records(0, 3).iter().map(leaf::audit_leaf).collect();
        let tiles = edge.clone().append(&leaves).tiles;
        edge.append(&leaves);
        let ids: Vec<(String, u64)> = records(0, 3)
            .iter()
            .zip(0..)
            .map(|(r, i)| (r.id.clone(), i))
            .collect();
        assert!(store.append_leaves(0, &edge, &tiles, &ids).await.unwrap());
        let done = registry.sequence(&records(0, 3)).await.unwrap();
        assert_eq!((done.appended, done.size, done.signed), (0, 3, true));
        assert_eq!(store.checkpoint().await.unwrap().unwrap().size, 3);
    }
}

mod audited_reads {
    use std::sync::atomic::Ordering;

    use super::sequencer::{fixture, records};
    use crate::actors::Role;
    use crate::error::RegistryError;
    use crate::records::Outcome;
    use crate::sessions::Principal;

    fn enquirer() -> Principal {
        Principal {
            subject: "enquirer:e1".into(),
            role: Role::Enquirer,
            expires_at_ms: u64::MAX,
        }
    }

    /// The read records the store holds: (target, outcome, code).
    fn reads(store: &crate::fakes::MemoryStore) -> Vec<(String, Outcome, Option<String>)> {
        store
            .snapshot()
            .audit
            .into_iter()
            .filter(|r| r.action == "read-audit-log" && r.actor == "enquirer:e1")
            .map(|r| (r.target.unwrap_or_default(), r.outcome, r.code))
            .collect()
    }

    // Y.3059 9.1 iv
    // Proofs in trees smaller than the signed one (no partial tile was stored at their
    // size) are answered from the signed tree's tiles, not a missing-tile failure.
    #[tokio::test]
    async fn proofs_in_a_tree_the_log_was_never_signed_at_verify() {
        let (registry, _store, _) = fixture();
        let batch = records(0, 300);
        registry.sequence(&batch).await.unwrap();
        let caller = enquirer();
        let leaves: Vec<super::Hash> = batch
            .iter()
            .map(|r| super::merkle::leaf_hash(&super::leaf::audit_leaf(r)))
            .collect();
        for size in [3u64, 256, 257, 299] {
            let proof = registry
                .audit_inclusion(Some(&caller), &batch[1].id, Some(size))
                .await
                .unwrap();
            let hashes: Vec<super::Hash> = proof
                .hashes
                .iter()
                .map(|h| {
                    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, h)
                        .unwrap()
                        .try_into()
                        .unwrap()
                })
                .collect();
            let root = super::merkle::root(&leaves[..size as usize]);
            assert!(
                super::merkle::verify(&leaves[1], 1, size as usize, &hashes, &root),
                "size {size}"
            );
            registry
                .audit_consistency(Some(&caller), 2, size)
                .await
                .unwrap();
        }
    }

    // Y.3059 7 i c
    // A read of the log by an authenticated caller is a transaction like any: answered once
    // its record is stored, never when the record could not be.
    #[tokio::test]
    async fn reads_of_the_log_are_audited_before_they_are_answered() {
        let (registry, store, _) = fixture();
        let batch = records(0, 5);
        registry.sequence(&batch).await.unwrap();
        let caller = enquirer();
        registry.audit_checkpoint(Some(&caller)).await.unwrap();
        registry
            .audit_tile(Some(&caller), "tile/0/000.p/5")
            .await
            .unwrap();
        registry
            .audit_inclusion(Some(&caller), &batch[2].id, None)
            .await
            .unwrap();
        registry
            .audit_consistency(Some(&caller), 2, 5)
            .await
            .unwrap();
        let refused = registry.audit_consistency(Some(&caller), 2, 9).await;
        assert!(matches!(refused, Err(RegistryError::LogEntryNotFound(_))));
        assert_eq!(
            reads(&store),
            [
                ("audit-log:checkpoint".into(), Outcome::Accepted, None),
                ("audit-log:tile/0/000.p/5".into(), Outcome::Accepted, None),
                (
                    format!("audit-log:inclusion/{}", batch[2].id),
                    Outcome::Accepted,
                    None
                ),
                ("audit-log:consistency/2/5".into(), Outcome::Accepted, None),
                (
                    "audit-log:consistency/2/9".into(),
                    Outcome::Rejected,
                    Some("log-entry-not-found".into())
                ),
            ]
        );

        store.fail_audit_writes.store(true, Ordering::SeqCst);
        let unrecorded = registry.audit_checkpoint(Some(&caller)).await;
        assert!(
            matches!(unrecorded, Err(RegistryError::Store(_))),
            "{unrecorded:?}"
        );
    }
}

mod verifier {
    use std::collections::HashMap;

    use base64::Engine;
    use p256::ecdsa::SigningKey;

    use super::super::note::EcdsaNoteKey;
    use super::super::verify::{Finding, Seen, check, days_of, open_checkpoint};
    use super::*;
    use crate::records::{AuditRecord, Outcome};

    fn record(i: u64) -> AuditRecord {
        AuditRecord {
            id: format!("{:013}-{i:04x}", 1_764_000_000_000u64 + i * 86_400_000),
            at_ms: 1_764_000_000_000 + i * 86_400_000,
            actor: "admin:alice".into(),
            action: "put-root".into(),
            target: Some(format!("root:{i}")),
            outcome: Outcome::Accepted,
            code: None,
        }
    }

    struct Log {
        records: Vec<AuditRecord>,
        entries: Vec<Vec<u8>>,
        checkpoint: Checkpoint,
    }

    fn log(n: u64) -> Log {
        let records: Vec<AuditRecord> = (0..n).map(record).collect();
        let entries: Vec<Vec<u8>> = records.iter().map(leaf::audit_leaf).collect();
        let checkpoint = Checkpoint::new("001", n, merkle::root(&hashes(&entries)));
        Log {
            records,
            entries,
            checkpoint,
        }
    }

    fn served(records: &[AuditRecord]) -> HashMap<String, (AuditRecord, Option<u64>)> {
        records
            .iter()
            .zip(0..)
            .map(|(r, i)| (r.id.clone(), (r.clone(), Some(i))))
            .collect()
    }

    #[test]
    fn an_intact_log_has_no_findings() {
        let l = log(10);
        assert_eq!(
            check(&l.checkpoint, &l.entries, &served(&l.records), None),
            []
        );
        assert_eq!(days_of(&l.entries).len(), 10);
    }

    // Y.3059 7 i c
    #[test]
    fn an_altered_a_deleted_and_swapped_records_are_named_by_index() {
        let l = log(10);
        let mut records = served(&l.records);
        records.get_mut(&l.records[3].id).unwrap().0.outcome = Outcome::Rejected;
        records.remove(&l.records[5].id);
        // Records 7 and 8 trade everything but their ids.
        let (a, b) = (l.records[7].clone(), l.records[8].clone());
        records.insert(
            a.id.clone(),
            (
                AuditRecord {
                    id: a.id.clone(),
                    ..b.clone()
                },
                Some(7),
            ),
        );
        records.insert(
            b.id.clone(),
            (
                AuditRecord {
                    id: b.id.clone(),
                    ..a.clone()
                },
                Some(8),
            ),
        );
        let findings = check(&l.checkpoint, &l.entries, &records, None);
        assert_eq!(
            findings,
            [
                Finding::Altered {
                    index: 3,
                    record: l.records[3].id.clone()
                },
                Finding::Missing {
                    index: 5,
                    record: l.records[5].id.clone()
                },
                Finding::Altered {
                    index: 7,
                    record: a.id.clone()
                },
                Finding::Altered {
                    index: 8,
                    record: b.id.clone()
                },
            ]
        );
    }

    #[test]
    fn a_rolled_back_or_rewritten_log_is_named_by_size() {
        let l = log(10);
        let seen = Seen {
            size: 12,
            root: "x".into(),
            key: None,
        };
        let findings = check(&l.checkpoint, &l.entries, &served(&l.records), Some(&seen));
        assert_eq!(findings, [Finding::RolledBack { size: 10, seen: 12 }]);
        let good = Seen {
            size: 6,
            root: base64::engine::general_purpose::STANDARD
                .encode(merkle::root(&hashes(&l.entries[..6]))),
            key: None,
        };
        assert_eq!(
            check(&l.checkpoint, &l.entries, &served(&l.records), Some(&good)),
            []
        );
        let mut forked = l.entries.clone();
        forked[2] = leaf::audit_leaf(&AuditRecord {
            action: "x".into(),
            ..l.records[2].clone()
        });
        let c = Checkpoint::new("001", 10, merkle::root(&hashes(&forked)));
        let findings = check(&c, &forked, &served(&l.records), Some(&good));
        assert!(
            findings.contains(&Finding::Inconsistent { seen: 6 }),
            "{findings:?}"
        );
    }

    // Y.3059 9.1 iv
    #[test]
    fn a_checkpoint_by_another_key_or_origin_is_refused() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let k = EcdsaNoteKey {
            name: "001".into(),
            key: *key.verifying_key(),
        };
        let l = log(2);
        let note = super::signed_checkpoint(&key, "001", &l.checkpoint.text());
        assert_eq!(
            open_checkpoint(&note.to_string(), &k),
            Ok(l.checkpoint.clone())
        );
        let other = EcdsaNoteKey {
            name: "002".into(),
            key: *key.verifying_key(),
        };
        assert!(open_checkpoint(&note.to_string(), &other).is_err());
        let wrong_origin = super::signed_checkpoint(
            &key,
            "001",
            &Checkpoint::new("002", 2, l.checkpoint.root).text(),
        );
        assert!(matches!(
            open_checkpoint(&wrong_origin.to_string(), &k),
            Err(Finding::BadCheckpoint { .. })
        ));
    }
}

// Y.3059 7 i c
// A verifier pins the log's key: a verifier key string round-trips, a damaged one is refused,
// and a registry serving another key than the one given or remembered is named, not trusted.
#[test]
fn the_verifier_pins_the_logs_key() {
    use crate::tlog::verify::{Finding, Seen, pinned_key};
    let key = |seed: u8| EcdsaNoteKey {
        name: "IN1.HLT.P07".into(),
        key: *SigningKey::from_slice(&[seed; 32]).unwrap().verifying_key(),
    };
    let (mine, theirs) = (key(7), key(8));
    let vkey = mine.verifier_key();
    let parsed = EcdsaNoteKey::from_verifier_key(&vkey).unwrap();
    assert_eq!(
        (parsed.name.as_str(), parsed.key),
        ("IN1.HLT.P07", mine.key)
    );
    let other_id = vkey.replacen(&format!("{:08x}", mine.key_id()), "00000000", 1);
    for bad in [
        "",
        "IN1.HLT.P07",
        other_id.as_str(),
        &vkey[..vkey.len() - 4],
    ] {
        assert!(EcdsaNoteKey::from_verifier_key(bad).is_err(), "{bad}");
    }

    // Nothing pinned yet: the served key (trust on first use).
    assert_eq!(
        pinned_key(mine.clone(), None, None).unwrap().verifier_key(),
        vkey
    );
    // Given, or remembered from the last clean run: the served key must be it.
    let changed = Finding::KeyChanged {
        pinned: vkey.clone(),
        served: theirs.verifier_key(),
    };
    assert_eq!(
        pinned_key(theirs.clone(), Some(mine.clone()), None).unwrap_err(),
        changed
    );
    let seen = Seen {
        size: 3,
        root: "x".into(),
        key: Some(vkey.clone()),
    };
    assert_eq!(
        pinned_key(theirs.clone(), None, Some(&seen)).unwrap_err(),
        changed
    );
    assert!(pinned_key(mine.clone(), None, Some(&seen)).is_ok());
    // A key given explicitly wins over the remembered one (a planned rotation).
    assert!(pinned_key(theirs.clone(), Some(theirs.clone()), Some(&seen)).is_ok());
}
