//! CMS: raw BER/DER (seeds start with 0x30), or the input as signed content in a BER wrapper.
#![no_main]
#[path = "common.rs"]
mod common;
use libfuzzer_sys::fuzz_target;

const OID_SIGNED: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02];
const OID_DATA: &[u8] = &[0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x01];

fuzz_target!(|data: &[u8]| {
    if data.first() == Some(&0x30) {
        common::check(data, "a.docx.cms");
        return;
    }
    // SEQ(indef){ signedData [0](indef){ SEQ(indef){ INT 1, SET{}, SEQ(indef){ data, [0](indef){ data as BER } } } } }
    let mut v = vec![0x30, 0x80];
    v.extend_from_slice(OID_SIGNED);
    v.extend([0xA0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x80]);
    v.extend_from_slice(OID_DATA);
    v.extend([0xA0, 0x80]);
    v.extend_from_slice(data);
    v.extend([0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    common::check(&v, "a.docx.cms");
});
