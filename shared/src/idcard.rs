//! Resident ID numbers (居民身份证号码, GB 11643-1999): the check digit, the birth date
//! and sex they carry, and masking for lists and exports.

use crate::fields::Scalar;
use crate::model::{Household, Sex};
use crate::period::Date;

/// What is wrong with an ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    /// Not 17 digits followed by a digit or `X`.
    #[error("an ID number is 18 characters: 17 digits and a final digit or X")]
    Format,
    /// Digits 7–14 are not a real date.
    #[error("the birth date inside the ID number is not a real date")]
    BirthDate,
    /// The 18th character does not match the GB 11643 check digit.
    #[error("the check digit is wrong (expected {expected}); a digit was probably mistyped")]
    CheckDigit {
        /// The check character the first 17 digits call for.
        expected: char,
    },
}

/// What an ID number says about its holder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdNumberInfo {
    /// Digits 7–14.
    pub birth_date: Date,
    /// Digit 17: odd for male, even for female.
    pub sex: Sex,
}

const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// The GB 11643 check character for the first 17 digits.
pub fn check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17.iter().zip(WEIGHTS).map(|(d, w)| u32::from(d - b'0') * w).sum();
    CHECK[(sum % 11) as usize]
}

/// Checks an 18-character ID number (a lowercase `x` is accepted).
pub fn parse_id_number(id: &str) -> Result<IdNumberInfo, IdNumberError> {
    let b = id.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return Err(IdNumberError::Format);
    }
    let last = (b[17] as char).to_ascii_uppercase();
    if !(last.is_ascii_digit() || last == 'X') {
        return Err(IdNumberError::Format);
    }
    let birth_date = Date::from_compact(&id[6..14]).ok_or(IdNumberError::BirthDate)?;
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&b[..17]);
    let expected = check_char(&first17);
    if last != expected {
        return Err(IdNumberError::CheckDigit { expected });
    }
    let sex = if (b[16] - b'0') % 2 == 1 { Sex::Male } else { Sex::Female };
    Ok(IdNumberInfo { birth_date, sex })
}

/// Whether the field under `key` holds an ID number (`m/<member>/id_no`): the one
/// field that only admins read in full.
pub fn is_id_number_key(key: &str) -> bool {
    key.starts_with("m/") && key.ends_with("/id_no") && key.matches('/').count() == 2
}

/// `value`, stored under `key`, as everyone but an admin reads it: an ID number
/// masked ([`mask_id_number`]), anything else as it is.
pub fn masked_value(key: &str, value: &Scalar) -> Scalar {
    match value {
        Scalar::Str(id) if is_id_number_key(key) => Scalar::Str(mask_id_number(id)),
        other => other.clone(),
    }
}

/// `household` as everyone but an admin reads it: every member's ID number masked.
pub fn mask_household(household: &mut Household) {
    for m in household.members.values_mut() {
        m.id_number = mask_id_number(&m.id_number);
    }
}

/// The ID number as lists and exports show it: the region code and the last four
/// characters, the birth date hidden (`522301********123X`). Anything that is not
/// 18 characters is hidden whole except its last two.
pub fn mask_id_number(id: &str) -> String {
    let chars: Vec<char> = id.chars().collect();
    if chars.is_empty() {
        return String::new();
    }
    if chars.len() == 18 {
        let head: String = chars[..6].iter().collect();
        let tail: String = chars[14..].iter().collect();
        return format!("{head}********{tail}");
    }
    let keep = chars.len().min(2);
    let tail: String = chars[chars.len() - keep..].iter().collect();
    format!("{}{tail}", "*".repeat(chars.len() - keep))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_standards_own_example_passes() {
        // GB 11643-1999 appendix example: 11010519491231002X, a woman born 1949-12-31.
        let info = parse_id_number("11010519491231002X").unwrap();
        assert_eq!(info.birth_date.to_string(), "1949-12-31");
        assert_eq!(info.sex, Sex::Female);
        assert!(parse_id_number("11010519491231002x").is_ok());
    }

    #[test]
    fn a_worked_check_digit() {
        // 52230119900307423?: weighted sum by hand:
        // 5·7+2·9+2·10+3·5+0·8+1·4+1·2+9·1+9·6+0·3+0·7+3·9+0·10+7·5+4·8+2·4+3·2
        // = 35+18+20+15+0+4+2+9+54+0+0+27+0+35+32+8+6 = 265; 265 mod 11 = 1 → '0'.
        assert_eq!(check_char(b"52230119900307423"), '0');
        let info = parse_id_number("522301199003074230").unwrap();
        assert_eq!(info.sex, Sex::Male, "17th digit 3 is odd");
        assert_eq!(parse_id_number("522301199003074231"), Err(IdNumberError::CheckDigit { expected: '0' }));
    }

    #[test]
    fn malformed_numbers() {
        assert_eq!(parse_id_number("52230119900307423"), Err(IdNumberError::Format));
        assert_eq!(parse_id_number("5223011990030742A0"), Err(IdNumberError::Format));
        assert_eq!(parse_id_number("522301199002304230"), Err(IdNumberError::BirthDate));
    }

    #[test]
    fn masking() {
        assert_eq!(mask_id_number("11010519491231002X"), "110105********002X");
        assert_eq!(mask_id_number("12345"), "***45");
        assert_eq!(mask_id_number(""), "");
    }
}
