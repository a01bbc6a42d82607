//! A small, strict DER reader: just enough to read RSA public keys.
//!
//! Key files are untrusted input. Every length is checked against the bytes that remain,
//! and leftover bytes after a structure are an error, never ignored.

use std::fmt;

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OBJECT_ID: u8 = 0x06;
const NULL: u8 = 0x05;

/// DER encoding of the OID 1.2.840.113549.1.1.1 (rsaEncryption).
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DerError {
    Truncated,
    UnexpectedTag { expected: u8, found: u8 },
    BadLength,
    TrailingData,
    NotRsa,
}

impl fmt::Display for DerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DerError::Truncated => f.write_str("DER data ends early"),
            DerError::UnexpectedTag { expected, found } => {
                write!(
                    f,
                    "DER tag 0x{found:02x} where 0x{expected:02x} was expected"
                )
            }
            DerError::BadLength => f.write_str("DER length is not minimal or too large"),
            DerError::TrailingData => f.write_str("bytes follow the end of the DER structure"),
            DerError::NotRsa => f.write_str("not an RSA key (algorithm is not rsaEncryption)"),
        }
    }
}

/// Reads one tag-length-value with the expected tag; returns its value and the rest.
fn expect(input: &[u8], tag: u8) -> Result<(&[u8], &[u8]), DerError> {
    let (&found, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if found != tag {
        return Err(DerError::UnexpectedTag {
            expected: tag,
            found,
        });
    }
    let (len, rest) = read_length(rest)?;
    if rest.len() < len {
        return Err(DerError::Truncated);
    }
    Ok(rest.split_at(len))
}

fn read_length(input: &[u8]) -> Result<(usize, &[u8]), DerError> {
    let (&first, rest) = input.split_first().ok_or(DerError::Truncated)?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 || count > 4 || rest.len() < count {
        return Err(DerError::BadLength);
    }
    let (bytes, rest) = rest.split_at(count);
    if bytes[0] == 0 {
        return Err(DerError::BadLength);
    }
    let len = bytes
        .iter()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    if len < 0x80 {
        return Err(DerError::BadLength);
    }
    Ok((len, rest))
}

fn expect_all(input: &[u8], tag: u8) -> Result<&[u8], DerError> {
    let (value, rest) = expect(input, tag)?;
    if !rest.is_empty() {
        return Err(DerError::TrailingData);
    }
    Ok(value)
}

/// Checks a PKCS#1 `RSAPublicKey` and returns the modulus size in bits.
pub fn rsa_modulus_bits(pkcs1: &[u8]) -> Result<usize, DerError> {
    let body = expect_all(pkcs1, SEQUENCE)?;
    let (modulus, rest) = expect(body, INTEGER)?;
    let exponent = expect_all(rest, INTEGER)?;
    if exponent.is_empty() {
        return Err(DerError::Truncated);
    }
    let significant: &[u8] = match modulus.iter().position(|&b| b != 0) {
        Some(i) => &modulus[i..],
        None => &[],
    };
    let Some(&top) = significant.first() else {
        return Ok(0);
    };
    Ok(significant.len() * 8 - top.leading_zeros() as usize)
}

/// Returns the PKCS#1 `RSAPublicKey` inside an X.509 `SubjectPublicKeyInfo`.
pub fn spki_rsa_key(spki: &[u8]) -> Result<&[u8], DerError> {
    let body = expect_all(spki, SEQUENCE)?;
    let (algorithm, rest) = expect(body, SEQUENCE)?;
    let bits = expect_all(rest, BIT_STRING)?;
    let (oid, params) = expect(algorithm, OBJECT_ID)?;
    if oid != RSA_ENCRYPTION {
        return Err(DerError::NotRsa);
    }
    if !params.is_empty() {
        expect_all(params, NULL)?;
    }
    match bits.split_first() {
        Some((0, key)) => Ok(key),
        Some(_) => Err(DerError::BadLength),
        None => Err(DerError::Truncated),
    }
}

/// Accepts a PKCS#1 or SubjectPublicKeyInfo RSA key; returns the PKCS#1 bytes and key size.
pub fn rsa_public_key(der: &[u8]) -> Result<(&[u8], usize), DerError> {
    match rsa_modulus_bits(der) {
        Ok(bits) => Ok((der, bits)),
        Err(pkcs1_error) => {
            let Ok(inner) = spki_rsa_key(der) else {
                return Err(pkcs1_error);
            };
            Ok((inner, rsa_modulus_bits(inner)?))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match value.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(value);
        out
    }

    fn pkcs1(modulus_bytes: usize) -> Vec<u8> {
        let mut modulus = vec![0u8];
        modulus.push(0xc1);
        modulus.extend(std::iter::repeat_n(0x55, modulus_bytes - 1));
        let body = [tlv(INTEGER, &modulus), tlv(INTEGER, &[1, 0, 1])].concat();
        tlv(SEQUENCE, &body)
    }

    fn spki(key: &[u8]) -> Vec<u8> {
        let alg = [tlv(OBJECT_ID, RSA_ENCRYPTION), tlv(NULL, &[])].concat();
        let bits = [&[0u8][..], key].concat();
        tlv(
            SEQUENCE,
            &[tlv(SEQUENCE, &alg), tlv(BIT_STRING, &bits)].concat(),
        )
    }

    #[test]
    fn pkcs1_key_size_is_read() {
        assert_eq!(rsa_public_key(&pkcs1(256)), Ok((&pkcs1(256)[..], 2048)));
    }

    #[test]
    fn spki_key_is_unwrapped_to_pkcs1() {
        let inner = pkcs1(512);
        let outer = spki(&inner);
        assert_eq!(rsa_public_key(&outer), Ok((&inner[..], 4096)));
    }

    #[test]
    fn trailing_bytes_and_truncation_are_errors() {
        let mut long = pkcs1(256);
        long.push(0);
        assert_eq!(rsa_modulus_bits(&long), Err(DerError::TrailingData));
        let short = &pkcs1(256)[..100];
        assert_eq!(rsa_modulus_bits(short), Err(DerError::Truncated));
        assert_eq!(rsa_public_key(&[]), Err(DerError::Truncated));
    }

    #[test]
    fn non_rsa_spki_is_rejected() {
        let alg = tlv(OBJECT_ID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]);
        let bits = [&[0u8][..], &pkcs1(256)].concat();
        let der = tlv(
            SEQUENCE,
            &[tlv(SEQUENCE, &alg), tlv(BIT_STRING, &bits)].concat(),
        );
        assert_eq!(spki_rsa_key(&der), Err(DerError::NotRsa));
    }

    #[test]
    fn non_minimal_lengths_are_rejected() {
        assert_eq!(read_length(&[0x81, 0x05]), Err(DerError::BadLength));
        assert_eq!(read_length(&[0x82, 0x00, 0x90]), Err(DerError::BadLength));
        assert_eq!(
            read_length(&[0x85, 1, 1, 1, 1, 1]),
            Err(DerError::BadLength)
        );
    }
}
