//! Initial passwords: random from the OS CSPRNG, always meeting the city's
//! rule, and hashed before they are sent to the directory.

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

/// The special characters the city's rule allows.
pub const SPECIALS: &str = "!@#%$*&";
const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ"; // no I, O
const LOWER: &str = "abcdefghijkmnpqrstuvwxyz"; // no l, o
const DIGITS: &str = "23456789"; // no 0, 1

/// Length of generated initial passwords.
pub const LENGTH: usize = 12;

/// Whether `pw` meets the city's rule: at least 8 characters with upper
/// case, lower case, a digit and one of `! @ # % $ * &`.
pub fn meets_policy(pw: &str) -> bool {
    pw.chars().count() >= 8
        && pw.chars().any(|c| c.is_ascii_uppercase())
        && pw.chars().any(|c| c.is_ascii_lowercase())
        && pw.chars().any(|c| c.is_ascii_digit())
        && pw.chars().any(|c| SPECIALS.contains(c))
}

/// A fresh initial password: one character of each class, the rest from
/// all of them, shuffled; look-alike characters (`0 O o 1 l I`) left out.
pub fn generate() -> SecretString {
    let mut rng = OsRng;
    let classes = [UPPER, LOWER, DIGITS, SPECIALS];
    let all: Vec<char> = classes.concat().chars().collect();
    let mut chars: Vec<char> = classes
        .iter()
        .map(|class| {
            let cs: Vec<char> = class.chars().collect();
            cs[rng.gen_range(0..cs.len())]
        })
        .collect();
    while chars.len() < LENGTH {
        chars.push(all[rng.gen_range(0..all.len())]);
    }
    chars.shuffle(&mut rng);
    SecretString::from(chars.into_iter().collect::<String>())
}

/// `{CRYPT}` SHA-512 crypt hash for `userPassword`; OpenLDAP checks it
/// with the system's crypt(3), so the clear password is never stored.
pub fn hash_for_ldap(pw: &SecretString) -> String {
    let params = sha_crypt::Sha512Params::new(sha_crypt::ROUNDS_DEFAULT)
        .expect("the default rounds are valid");
    let hash = sha_crypt::sha512_simple(pw.expose_secret(), &params)
        .expect("hashing into memory cannot fail");
    format!("{{CRYPT}}{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_generated_password_meets_the_rule() {
        for _ in 0..5000 {
            let pw = generate();
            let pw = pw.expose_secret();
            assert!(meets_policy(pw), "{pw}");
            assert_eq!(pw.chars().count(), LENGTH);
            assert!(!pw.contains(['0', 'O', 'o', '1', 'l', 'I']), "{pw}");
        }
    }

    #[test]
    fn generated_passwords_differ() {
        let a = generate();
        let b = generate();
        assert_ne!(a.expose_secret(), b.expose_secret());
    }

    #[test]
    fn policy_check_matches_the_city_rule() {
        assert!(meets_policy("Abcdef1!"));
        assert!(!meets_policy("Abcde1!")); // 7 characters
        assert!(!meets_policy("abcdef1!")); // no upper case
        assert!(!meets_policy("ABCDEF1!")); // no lower case
        assert!(!meets_policy("Abcdefg!")); // no digit
        assert!(!meets_policy("Abcdefg1")); // no special
        assert!(!meets_policy("Abcdef1^")); // ^ is not one of the allowed
    }

    #[test]
    fn ldap_hash_is_crypt_sha512_and_verifies() {
        let pw = SecretString::from("Abcdef1!xyz".to_string());
        let h = hash_for_ldap(&pw);
        assert!(h.starts_with("{CRYPT}$6$"), "{h}");
        assert!(!h.contains("Abcdef1!xyz"));
        assert!(sha_crypt::sha512_check("Abcdef1!xyz", &h["{CRYPT}".len()..]).is_ok());
    }
}
