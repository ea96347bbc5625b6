//! SQL injection rules.

use super::{SECURITY, assert_detects, assert_ignores};

#[test]
fn sql_injection_variants() {
    assert_detects(
        SECURITY,
        "sql_injection",
        &[
            ("user=' OR 1=1", "' OR 1=1"),
            ("x' or 'a'='a", "' or 'a'='a"),
            (
                "id=1 UNION ALL SELECT password FROM users",
                "UNION ALL SELECT",
            ),
            ("name=x'; DROP TABLE users", "; DROP TABLE"),
            ("1; delete from accounts", "; delete from"),
            ("admin'--", "'--"),
        ],
    );
    assert_ignores(
        SECURITY,
        "sql_injection",
        &[
            "the union selected a new leader",
            "it's orange = fruit",
            "we'll drop the table later",
            "a -- b",
        ],
    );
}
