//! PII rules: email, phone numbers, SSN, credit cards (Luhn-checked).

use super::{PII, assert_detects, assert_ignores};

#[test]
fn email_positive_and_negative() {
    assert_detects(
        PII,
        "email",
        &[
            (
                "mail jane.doe+ops@example.co.uk today",
                "jane.doe+ops@example.co.uk",
            ),
            ("<bob@corp-mail.example.com>", "bob@corp-mail.example.com"),
        ],
    );
    assert_ignores(
        PII,
        "email",
        &["user at example dot com", "@handle", "a@b", "x@y.z"],
    );
}

#[test]
fn phone_positive_and_negative() {
    assert_detects(
        PII,
        "phone_number",
        &[
            ("call 415-555-0132 now", "415-555-0132"),
            ("call (415) 555-0132", "(415) 555-0132"),
            ("call +1 415.555.0132.", "415.555.0132"),
            ("call +1 (415) 555 0132", "+1 (415) 555 0132"),
            ("fax 212 555 0199", "212 555 0199"),
            ("whatsapp +447911123456", "+447911123456"),
        ],
    );
    assert_ignores(
        PII,
        "phone_number",
        &[
            "build 123-456-7890",
            "v4155550132",
            "+12345",
            "id 1415-555-0132",
            "(123) 555-0132",
        ],
    );
}

#[test]
fn ssn_positive_and_negative() {
    assert_detects(PII, "ssn", &[("ssn: 123-45-6789.", "123-45-6789")]);
    assert_ignores(
        PII,
        "ssn",
        &[
            "000-12-3456",
            "666-12-3456",
            "900-12-3456",
            "123-00-6789",
            "123-45-0000",
            "1123-45-6789",
        ],
    );
}

#[test]
fn credit_card_requires_luhn() {
    assert_detects(
        PII,
        "credit_card",
        &[
            ("card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
            ("card 4111-1111-1111-1111", "4111-1111-1111-1111"),
            ("card 4012888888881881", "4012888888881881"),
            ("amex 3782 822463 10005", "3782 822463 10005"),
        ],
    );
    assert_ignores(
        PII,
        "credit_card",
        &[
            "card 4111 1111 1111 1112",
            "card 4111111111111112",
            "zeros 0000 0000 0000 0000",
            "issuer 8111 1111 1111 1112 (Luhn-valid)",
            "short 411111111111",
            "long 41111111111111111111111",
        ],
    );
}
