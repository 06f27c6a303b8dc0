//! docs/API.md's "Problem types" table is the contract's list of problem codes: every code
//! the registry can answer, with its status and title, and nothing else.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use trustreg_core::error::ErrorCode;
use trustreg_http::Problem;

/// (status, title) by code, as docs/API.md's table gives them.
fn documented() -> BTreeMap<String, (u16, String)> {
    let text = include_str!("../../../docs/API.md");
    let section = text
        .split("## Problem types")
        .nth(1)
        .expect("docs/API.md has its problem types");
    let section = section.split("\n## ").next().unwrap();
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| `")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let code = cells[0].trim_matches('`').to_owned();
        let previous = rows.insert(
            code.clone(),
            (cells[1].parse().unwrap(), cells[2].to_owned()),
        );
        assert!(previous.is_none(), "docs/API.md lists {code} twice");
    }
    rows
}

#[test]
fn the_documented_problem_types_are_the_ones_answered() {
    let documented = documented();
    let answered: BTreeMap<String, (u16, String)> = ErrorCode::ALL
        .iter()
        .map(|code| {
            let problem = Problem::new(*code, "detail");
            assert_eq!(
                problem.problem_type,
                format!("https://trustreg.dev/problems/{code}")
            );
            (code.to_string(), (problem.status, problem.title))
        })
        .collect();
    assert_eq!(documented, answered);
}
