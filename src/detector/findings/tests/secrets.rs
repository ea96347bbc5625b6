//! Secret rules: cloud and GitHub tokens, private keys, key/secret/password
//! assignments (reporting the value).

use super::{SECURITY, assert_detects, assert_ignores};

#[test]
fn aws_and_github_tokens() {
    let ghp = format!("ghp_{}", "a1B2c3D4e5".repeat(3) + "F6g7H8");
    assert_detects(
        SECURITY,
        "aws_access_key",
        &[("key AKIAIOSFODNN7EXAMPLE here", "AKIAIOSFODNN7EXAMPLE")],
    );
    assert_detects(
        SECURITY,
        "github_token",
        &[(&format!("GH_TOKEN {ghp} x"), &ghp)],
    );
    assert_ignores(
        SECURITY,
        "aws_access_key",
        &["akiaiosfodnn7example", "AKIA1234", "XAKIAIOSFODNN7EXAMPLE"],
    );
    assert_ignores(
        SECURITY,
        "github_token",
        &["ghp_short", "ghx_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
    );
}

#[test]
fn private_key_block_and_header() {
    let block = "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x+/=\nabc\n\
                 -----END RSA PRIVATE KEY-----";
    assert_detects(
        SECURITY,
        "private_key",
        &[
            (&format!("key:\n{block}\ntrailer"), block),
            (
                "-----BEGIN OPENSSH PRIVATE KEY----- (truncated",
                "-----BEGIN OPENSSH PRIVATE KEY-----",
            ),
            ("-----BEGIN PRIVATE KEY-----", "-----BEGIN PRIVATE KEY-----"),
        ],
    );
    assert_ignores(
        SECURITY,
        "private_key",
        &["-----BEGIN PUBLIC KEY-----", "BEGIN PRIVATE KEY"],
    );
}

#[test]
fn secret_assignments_report_the_value() {
    assert_detects(
        SECURITY,
        "api_key",
        &[
            ("api_key=sk4f8a9b7c6d5e4f3a2b1", "sk4f8a9b7c6d5e4f3a2b1"),
            (r#"{"apiKey": "Zx9Yw8Vu7Ts6Rq5Po4"}"#, "Zx9Yw8Vu7Ts6Rq5Po4"),
            ("X-Api-Key: 0123456789abcdef0123", "0123456789abcdef0123"),
        ],
    );
    assert_detects(
        SECURITY,
        "generic_secret",
        &[
            (
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            ),
            (
                "token: 9f8e7d6c5b4a39281706f5e4",
                "9f8e7d6c5b4a39281706f5e4",
            ),
        ],
    );
    assert_ignores(
        SECURITY,
        "api_key",
        &[
            "api_key=short1",
            "api_key=abcdefghijklmnopqrst",
            "the api key is long",
        ],
    );
    assert_ignores(
        SECURITY,
        "generic_secret",
        &["tokens: 1234567890123456", "secret=tooshort1"],
    );
}

#[test]
fn password_assignments() {
    assert_detects(
        SECURITY,
        "password",
        &[
            (r#"password = "hunter2""#, "hunter2"),
            ("db_passwd: 'c0rrect horse'", "c0rrect horse"),
            ("PWD=S3cr3t!x;", "S3cr3t!x"),
            (r#"{"password": "pässwörd"}"#, "pässwörd"),
        ],
    );
    assert_ignores(
        SECURITY,
        "password",
        &[r#"password = """#, "forgot my password again", "pwd=abc"],
    );
}
