//! Robustness: arbitrary bytes never panic and never grow the buffer past its bound, and how the
//! stream is cut into chunks never changes what is parsed.

use proptest::prelude::*;

use super::parse::{parse_line, Event, LogParser};

/// Real fragments glued in random orders and cut at random places make inputs that come close to
/// every format, which pure random bytes rarely do.
const FRAGMENTS: &[&str] = &[
    "{'loss': '4.778', 'grad_norm': '1.047', 'learning_rate': '0', 'epoch': '0.02083'}",
    "{'loss': nan, 'epoch': 0.5}",
    r#"{"current_steps": 10, "total_steps": 100, "loss": 1.2, "elapsed_time": "0:01:02", "remaining_time": "0:09:18"}"#,
    "Step 10 | loss:1.2345 lr:2e-05 tokens_per_second_per_gpu:1234.5 ",
    " 23%|██▎       | 7/30 [00:12<00:40,  1.76s/it]",
    "1|10|Loss: 1.2345:  10%|█         | 10/100 [00:05<00:45,  2.00it/s]",
    "45it [00:12,  3.61it/s]",
    "\r",
    "\n",
    "{",
    "}",
    "'",
    "\"",
    "|",
    "%",
    "[",
    "\u{fffd}",
    "99999999999999999999999",
    "-inf",
];

fn stream() -> impl Strategy<Value = Vec<u8>> {
    let frag = prop::sample::select(FRAGMENTS).prop_map(|s| s.as_bytes().to_vec());
    let junk = prop::collection::vec(any::<u8>(), 0..64);
    prop::collection::vec(prop_oneof![3 => frag, 1 => junk], 0..40).prop_map(|parts| parts.concat())
}

fn feed(parser: &mut LogParser, bytes: &[u8], cuts: &[usize]) -> Vec<Event> {
    let mut out = Vec::new();
    let mut from = 0;
    for &c in cuts {
        let to = (from + c).min(bytes.len());
        out.extend(parser.push(&bytes[from..to]));
        from = to;
    }
    out.extend(parser.push(&bytes[from..]));
    out.extend(parser.finish());
    out
}

fn same(a: &[Event], b: &[Event]) -> bool {
    // Debug text compares NaN values equal to themselves.
    format!("{a:?}") == format!("{b:?}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_lines_never_panic(s in ".{0,400}") {
        let _ = parse_line(&s);
    }

    #[test]
    fn buffer_stays_bounded(bytes in prop::collection::vec(any::<u8>(), 0..4096), max in 1usize..256) {
        let mut p = LogParser::new(max);
        for chunk in bytes.chunks(97) {
            let _ = p.push(chunk);
            prop_assert!(p.buffered() <= max);
        }
    }

    #[test]
    fn chunking_does_not_change_events(bytes in stream(), cuts in prop::collection::vec(0usize..50, 0..20)) {
        let whole = feed(&mut LogParser::default(), &bytes, &[]);
        let chunked = feed(&mut LogParser::default(), &bytes, &cuts);
        prop_assert!(same(&whole, &chunked), "{whole:?} != {chunked:?}");
    }

    #[test]
    fn small_buffer_never_panics(bytes in stream(), max in 1usize..64) {
        let mut p = LogParser::new(max);
        let _ = feed(&mut p, &bytes, &[3, 5, 7]);
        prop_assert!(p.buffered() <= max);
    }
}
