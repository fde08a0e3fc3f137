// Prefill GEMM: a workgroup of 64 invocations owns a tile of 64 output rows
// x 16 token rows and walks K in chunks of 4 packed words (64 weights):
//   load   : the tile's 64 x 4 packed words and 16 x 16 activation words
//            into workgroup memory (4 + 4 per invocation);
//   unpack : invocation t expands packed words t, t + 64, t + 128, t + 192
//            (rows t / 4 + 16 s) into 4 code words each;
//   compute: invocation t owns output row t of the tile: each of its 16
//            code words meets the 16 token rows' activation words
//            (256 dot4 per chunk, 16 accumulators).
// Each weight word fetched from memory serves 16 token rows.
// Split K: workgroup z covers chunks z * SEG .. (z + 1) * SEG and adds its
// sums to the zeroed accumulators with atomicAdd (exact and order-free:
// integer adds modulo 2^32); workgroup z = 0 also subtracts the row sums.
// (Also a workaround: on lavapipe, Mesa 22.3, one workgroup looping over
// more than ~3600 chunks read zeros past K ~ 233000.)

@group(0) @binding(3) var<storage, read_write> acc_out: array<atomic<i32>>;

const SEG: u32 = 256u;
const TN: u32 = 64u;
const TM: u32 = 16u;
const KC: u32 = 4u;
// Row stride of the unpacked tile: 16 code words + 1 (no bank conflicts
// when the 64 invocations read their rows' word q together).
const US: u32 = 17u;

var<workgroup> gpk: array<u32, 256>;   // TN x KC packed words
var<workgroup> gun: array<u32, 1088>;  // TN x US code words
var<workgroup> gx: array<u32, 256>;    // TM x 16 activation words

@compute @workgroup_size(64)
fn gemm(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) t: u32) {
    let n0 = wid.x * TN;
    let m0 = wid.y * TM;
    var acc: array<i32, 16>;
    let c0 = wid.z * SEG;
    let c1 = min(c0 + SEG, p.kw / KC);
    for (var c = c0; c < c1; c++) {
        for (var s = 0u; s < 4u; s++) {
            let i = t + s * 64u;
            let row = n0 + i / KC;
            var v = 0x55555555u;
            if (row < p.n) {
                v = wts[row * p.kw + c * KC + i % KC];
            }
            gpk[i] = v;
            let tok = m0 + i / 16u;
            var a = 0u;
            if (tok < p.rows) {
                a = acts[tok * p.kw * 4u + c * 16u + i % 16u];
            }
            gx[i] = a;
        }
        workgroupBarrier();
        for (var s = 0u; s < 4u; s++) {
            let i = t + s * 64u;
            let word = gpk[i];
            for (var j = 0u; j < 4u; j++) {
                gun[(i / KC) * US + (i % KC) * 4u + j] = unpack(word, j);
            }
        }
        workgroupBarrier();
        for (var q = 0u; q < 16u; q++) {
            let cw = gun[t * US + q];
            for (var m = 0u; m < TM; m++) {
                acc[m] += dot4(cw, gx[m * 16u + q]);
            }
        }
        workgroupBarrier();
    }
    let row = n0 + t;
    if (row < p.n) {
        for (var m = 0u; m < TM; m++) {
            let tok = m0 + m;
            if (tok < p.rows) {
                var v = acc[m];
                if (wid.z == 0u) {
                    v -= act_sum(tok);
                }
                atomicAdd(&acc_out[p.out_off + tok * p.n + row], v);
            }
        }
    }
}
