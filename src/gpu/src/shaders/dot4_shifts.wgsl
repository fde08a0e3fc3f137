// dot4, shift/mask fallback (TRITIUM_GPU_KERNEL=shifts): each byte of the
// code word is 0..2 (unsigned), each activation byte is sign-extended by
// shifting it to the top and arithmetically back down.
fn dot4(c: u32, a: u32) -> i32 {
    var s = 0i;
    for (var b = 0u; b < 32u; b += 8u) {
        let cb = i32((c >> b) & 0xFFu);
        let ab = bitcast<i32>(a << (24u - b)) >> 24u;
        s += cb * ab;
    }
    return s;
}
