//! Hostile file names and document text never reach the terminal raw: the CLI's human output
//! shows control characters escaped (`\e`, `\a`, `\n`), one line per document, while `--json`
//! keeps the exact strings (JSON escapes them itself).

mod common;
use common::Env;

const HOSTILE: &str = "esc-\x1b[31mred\x1b[0m-\x1b]0;TITLE\x07.md";
const NEWLINE: &str = "split\nname.md";

fn corpus(env: &Env) -> std::path::PathBuf {
    env.write(
        &format!("docs/{HOSTILE}"),
        "# Crimson \x1b]0;PWNED\x07 heading\n\nThe crimson gauge \x1b[2J clears \u{202e}screens\x07 in red.\n",
    );
    env.write(
        &format!("docs/{NEWLINE}"),
        "# Split\n\nA file whose name holds a newline.\n",
    );
    env.write("docs/plain.md", "# Plain\n\nNothing odd here.\n");
    env.path("docs")
}

/// Raw C0 controls other than the line break, DEL, C1 controls and bidi overrides.
fn raw_controls(text: &str) -> Vec<char> {
    text.chars()
        .filter(|&c| c != '\n' && lmdeck::util::safe::is_unsafe(c))
        .collect()
}

#[test]
fn cli_output_escapes_control_characters_and_keeps_json_exact() {
    let env = Env::new();
    let docs = corpus(&env);
    let ingest = env.ok(&["ingest", docs.to_str().unwrap(), "-c", "t"]);
    assert!(raw_controls(&ingest).is_empty(), "{ingest:?}");

    let list = env.ok(&["docs", "list", "-c", "t"]);
    assert!(raw_controls(&list).is_empty(), "{list:?}");
    assert_eq!(list.lines().count(), 3, "one line per document: {list:?}");
    assert!(
        list.contains("esc-\\e[31mred\\e[0m-\\e]0;TITLE\\a.md"),
        "{list}"
    );
    assert!(list.contains("split\\nname.md"), "{list}");

    let search = env.ok(&["search", "crimson gauge", "-c", "t", "--mode", "keyword"]);
    assert!(raw_controls(&search).is_empty(), "{search:?}");
    assert!(search.contains("esc-\\e[31mred"), "{search}");
    assert!(
        search.contains("\\e[2J") && search.contains("\\u{202e}"),
        "{search}"
    );

    let show = env.ok(&["docs", "show", "-c", "t", "1"]);
    assert!(raw_controls(&show).is_empty(), "{show:?}");

    // An error quoting what the user or a file gave is escaped too.
    let err = env.fails(&["docs", "show", "-c", "t", "zz\x1b]0;PWNED\x07"]);
    assert!(raw_controls(&err).is_empty(), "{err:?}");
    assert!(err.contains("\\e]0;PWNED\\a"), "{err}");

    // JSON is exact: the stored name comes back byte for byte.
    let json = env.json(&["docs", "list", "-c", "t", "--json"]);
    let names: Vec<&str> = json
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["source_path"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.ends_with(HOSTILE)), "{names:?}");
    assert!(names.iter().any(|n| n.ends_with(NEWLINE)), "{names:?}");
}
