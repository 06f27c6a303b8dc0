use super::*;

/// A partition read as DynamoDB reads it: from after `position`, at most `limit` items, and
/// at most `cap` (a Query stops at 1 MB whatever its Limit), with the LastEvaluatedKey's sort
/// key when items remain.
fn query(partition: &[String], position: &Position, limit: usize, cap: usize) -> Fetched<String> {
    let rest: Vec<&String> = partition
        .iter()
        .filter(|k| match position {
            Position::Start => true,
            Position::After(after) => *k > after,
            Position::Done => false,
        })
        .collect();
    let read: Vec<(String, String)> = rest
        .iter()
        .take(limit.min(cap))
        .map(|k| ((*k).clone(), (*k).clone()))
        .collect();
    let more = (read.len() < rest.len()).then(|| read.last().map(|(k, _)| k.clone()).unwrap());
    Fetched { items: read, more }
}

/// Every page of a listing over `partitions`, each page through an encoded cursor.
fn pages(partitions: &[Vec<String>], limit: usize, cap: usize) -> Vec<Vec<String>> {
    let mut cursor = MergedCursor::start(partitions.len());
    let mut out = Vec::new();
    loop {
        let fetched = partitions
            .iter()
            .zip(&cursor.positions)
            .map(|(p, at)| (*at != Position::Done).then(|| query(p, at, limit, cap)))
            .collect();
        let (items, next) = merge(&cursor, fetched, limit);
        assert!(items.len() <= limit);
        out.push(items);
        match next {
            Some(next) => {
                cursor = MergedCursor::decode(&next.encode().unwrap(), partitions.len()).unwrap();
            }
            None => return out,
        }
        assert!(out.len() < 10_000, "the listing does not end");
    }
}

/// Ids spread over partitions the way records are: by a hash of their id, uneven runs
/// included, and one partition (the legacy one) empty.
fn spread(count: usize, partitions: usize) -> (Vec<Vec<String>>, Vec<String>) {
    let mut all: Vec<String> = (0..count)
        .map(|i| format!("{:013}-{i:04x}", i * 7))
        .collect();
    all.sort();
    let mut parts = vec![Vec::new(); partitions];
    for id in &all {
        let shard = 1 + crate::keys::audit_shard_of(id, (partitions - 1) as u32) as usize;
        parts[shard].push(id.clone());
    }
    (parts, all)
}

#[test]
fn pages_over_partitions_answer_every_item_once_in_order() {
    let (parts, all) = spread(157, 5);
    assert!(parts[1..].iter().all(|p| !p.is_empty()), "every shard used");
    for (limit, cap) in [(1, 100), (10, 100), (10, 3), (50, 7), (500, 500)] {
        let got: Vec<String> = pages(&parts, limit, cap).into_iter().flatten().collect();
        assert_eq!(got, all, "limit {limit}, cap {cap}");
    }
}

#[test]
fn a_partition_that_stopped_early_holds_back_what_may_sort_after_its_unread_items() {
    // Partition 0 stops after "b" (a 1 MB page); "c" of partition 1 must wait for "bb".
    let parts = [
        vec!["a".to_owned(), "b".to_owned(), "bb".to_owned()],
        vec!["c".to_owned()],
    ];
    let cursor = MergedCursor::start(2);
    let fetched = vec![
        Some(query(&parts[0], &Position::Start, 10, 2)),
        Some(query(&parts[1], &Position::Start, 10, 10)),
    ];
    let (items, next) = merge(&cursor, fetched, 10);
    assert_eq!(items, ["a", "b"]);
    assert_eq!(
        next.unwrap().positions,
        [Position::After("b".into()), Position::Start]
    );
}

#[test]
fn empty_partitions_end_the_listing_with_one_empty_page() {
    let parts = [Vec::new(), Vec::new(), Vec::new()];
    assert_eq!(pages(&parts, 10, 10), vec![Vec::<String>::new()]);
}

#[test]
fn cursors_not_of_this_listing_are_refused() {
    let good = MergedCursor {
        positions: vec![Position::Start, Position::After("x".into()), Position::Done],
    };
    let text = good.encode().unwrap();
    assert_eq!(MergedCursor::decode(&text, 3).unwrap(), good);
    let refused = |text: &str, parts: usize| {
        matches!(
            MergedCursor::decode(text, parts),
            Err(StoreError::InvalidCursor(_))
        )
    };
    // Another count of partitions (the shard count changed), another listing's cursor, junk.
    assert!(refused(&text, 4));
    assert!(refused(
        &URL_SAFE_NO_PAD.encode(br#"{"p":0,"k":{"pk":"AUDIT#x"}}"#),
        3
    ));
    assert!(refused("%%%", 3));
    assert!(refused(&"A".repeat(MAX_CURSOR_LEN + 1), 3));
    let forged = |positions: Vec<Position>| MergedCursor { positions }.encode().unwrap();
    assert!(refused(&forged(vec![Position::After(String::new())]), 1));
    assert!(refused(&forged(vec![Position::After("k".repeat(300))]), 1));
    // All done: no page follows, so no cursor names it.
    assert!(refused(&forged(vec![Position::Done, Position::Done]), 2));
}
