//! Skipping rules whose needs are unmet never changes a scan: random
//! contents stitched from every rule's matches, near misses and noise give
//! the same findings with and without skipping, and every rule is seen to
//! fire on them (so no rule's needs reject its own matches).

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::scan::scan_every_rule;
use super::super::table::RULES;
use super::{ALL, caps, scan_with};

/// A match of each pattern rule, a few keyword hits and near misses.
const PIECES: &[&str] = &[
    "alice@example.com",
    "Jo.Doe+x@mail.example.org",
    "415-555-0132",
    "415.555.0132",
    "+1 (415) 555-0132",
    "(212) 555 0199",
    "+442071838750",
    "123-45-6789",
    "4111 1111 1111 1111",
    "5500-0000-0000-0004",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "github_pat_11ABCDEFG0123456789_abcdefghijkl",
    "-----BEGIN RSA PRIVATE KEY-----",
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADAN\n-----END PRIVATE KEY-----",
    "api_key=Ab12Cd34Ef56Gh78Ij90",
    "X-Api-Key: 9f8e7d6c5b4a39281706",
    "\"apiKey\": \"abcd1234efgh5678ijkl\"",
    "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCY",
    "token: abcdef0123456789abcdef",
    "password = \"hunter2\"",
    "db_passwd: 's3cr3t pass'",
    "pwd=letmein99",
    "' OR 1=1",
    "' or 'a'='a'",
    "' or true",
    "UNION ALL SELECT",
    "union select",
    "; DROP TABLE users",
    "; delete from accounts",
    "; truncate table t",
    ";shutdown",
    "'--",
    "'; /*",
    "kill",
    "Blow up",
    "I hate it",
    "SHUT UP",
    "idiots",
    "terrible",
    "sucks",
    // near misses
    "alice@",
    "@example",
    "555-0132",
    "4111",
    "AKIA",
    "gh_",
    "-----BEGIN",
    "api_key",
    "secret",
    "passwd",
    "union",
    ";",
    "'",
];

const NOISE: &[u8] = b"abcXYZ 0129 .-_:=;'\"()+/*@\n\t";

fn random_content(rng: &mut ChaCha8Rng) -> String {
    let mut content = String::new();
    for _ in 0..rng.random_range(0..6) {
        if rng.random_bool(0.5) {
            content.push_str(PIECES.choose(rng).unwrap());
        } else {
            for _ in 0..rng.random_range(1..12) {
                content.push(char::from(*NOISE.choose(rng).unwrap()));
            }
        }
    }
    content
}

#[test]
fn skipping_rules_never_changes_findings() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let capabilities = caps(ALL);
    let mut fired = vec![false; RULES.len()];
    for _ in 0..20_000 {
        let content = random_content(&mut rng);
        let skipping = scan_with(&content, ALL);
        assert_eq!(
            skipping,
            scan_every_rule(&content, &capabilities),
            "{content:?}"
        );
        for finding in &skipping {
            for (index, rule) in RULES.iter().enumerate() {
                if (rule.category, rule.subcategory) == (finding.category, finding.subcategory) {
                    fired[index] = true;
                }
            }
        }
    }
    let silent: Vec<_> = RULES
        .iter()
        .zip(&fired)
        .filter(|(_, fired)| !**fired)
        .map(|(rule, _)| rule.subcategory)
        .collect();
    assert!(silent.is_empty(), "rules that never fired: {silent:?}");
}

#[test]
fn every_piece_scans_the_same_alone() {
    let capabilities = caps(ALL);
    for piece in PIECES {
        assert_eq!(
            scan_with(piece, ALL),
            scan_every_rule(piece, &capabilities),
            "{piece:?}"
        );
    }
}
