// Decode GEMV: one token row. A workgroup of 64 invocations owns 4 output
// rows and walks K in chunks of 64 packed words (1024 weights) per row:
//   load   : invocation t copies word t of each of its 4 rows and the 4
//            activation words under it into workgroup memory;
//   unpack : invocation t expands its packed words into 4 code words each
//            (workgroup memory, 4 rows x 256 code words);
//   compute: invocation t takes code words t, t + 64, t + 128, t + 192 of
//            each row (words other invocations unpacked) and dot4s them
//            with the matching activation words.
// The 64 partial sums of a row are added by a tree in workgroup memory.
// Integer adds are modulo 2^32, so the order changes nothing.

@group(0) @binding(3) var<storage, read_write> acc_out: array<i32>;

const WG: u32 = 64u;
const GR: u32 = 4u;

var<workgroup> wpk: array<u32, 256>;   // GR x WG packed words
var<workgroup> wun: array<u32, 1024>;  // GR x (4 WG) code words
var<workgroup> xs: array<u32, 256>;    // 4 WG activation words
var<workgroup> red: array<i32, 256>;   // GR x WG partial sums

@compute @workgroup_size(64)
fn gemv(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let r0 = wid.x * GR;
    var acc = array<i32, 4>(0, 0, 0, 0);
    let chunks = (p.kw + WG - 1u) / WG;
    for (var c = 0u; c < chunks; c++) {
        let wi = c * WG + t;
        for (var g = 0u; g < GR; g++) {
            let row = r0 + g;
            var v = 0x55555555u;
            if (row < p.n && wi < p.kw) {
                v = wts[row * p.kw + wi];
            }
            wpk[g * WG + t] = v;
        }
        for (var j = 0u; j < 4u; j++) {
            var a = 0u;
            if (wi < p.kw) {
                a = acts[wi * 4u + j];
            }
            xs[t * 4u + j] = a;
        }
        workgroupBarrier();
        for (var g = 0u; g < GR; g++) {
            let word = wpk[g * WG + t];
            for (var j = 0u; j < 4u; j++) {
                wun[g * 4u * WG + t * 4u + j] = unpack(word, j);
            }
        }
        workgroupBarrier();
        for (var s = 0u; s < 4u; s++) {
            let q = t + s * WG;
            let a = xs[q];
            for (var g = 0u; g < GR; g++) {
                acc[g] += dot4(wun[g * 4u * WG + q], a);
            }
        }
        workgroupBarrier();
    }
    for (var g = 0u; g < GR; g++) {
        red[g * WG + t] = acc[g];
    }
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            for (var g = 0u; g < GR; g++) {
                red[g * WG + t] += red[g * WG + t + s];
            }
        }
        workgroupBarrier();
    }
    if (t < GR) {
        let row = r0 + t;
        if (row < p.n) {
            acc_out[p.out_off + row] = red[t * WG] - act_sum(0u);
        }
    }
}
