// Copyright tritium contributors.
//
// tri_wdec: one stored weight word -> the Cols*Lanes 2-bit codes of one array
// beat. Purely combinational. Layouts: rtl/INTERFACE.md ("tri_accel", stored
// weights); the Rust twin is tritium_golden::image::unpack_word.
//
// Code index i = c*Lanes + l (column c, lane l), NumPe = Cols*Lanes codes.
//
//   Format 0 (2-bit): code i is bits [2*(i mod 4) +: 2] of byte i/4, i.e.
//     bits [2*i +: 2] of the word: pure wiring. Code 3 is invalid and passes
//     through (the PEs flag it and treat it as weight 0).
//   Format 1 (base-3): byte j holds codes 5j .. 5j+4 (tri_dec_base3); an
//     invalid byte (> 242) makes all five codes 3.
//
// Only the first UsedBytes = ceil(NumPe / WPB) bytes are decoded, and only
// the first NumPe codes are used; the rest of the word (padding bytes, and
// codes of the last byte past NumPe) is ignored. The `*` and `/` below are
// elaboration-time arithmetic on parameters and genvars.

module tri_wdec #(
  parameter int unsigned Cols      = 4,
  parameter int unsigned Lanes     = 8,
  parameter int unsigned Format    = 0,  // 0: 2-bit, 1: base-3
  parameter int unsigned WordBytes = 8,  // bytes of one stored word
  localparam int unsigned NumPe     = Cols * Lanes,
  localparam int unsigned CodeW     = tri_pkg::CodeW,
  localparam int unsigned Wpb       = (Format == 0) ? 4 : 5,  // weights per byte
  localparam int unsigned UsedBytes = (NumPe + Wpb - 1) / Wpb
) (
  input  logic [WordBytes*8-1:0]  word_i,   // byte b at [8*b +: 8]
  output logic [NumPe*CodeW-1:0]  codes_o   // code i at [2*i +: 2]
);

  if (Format == 0) begin : gen_2bit
    // Wiring: the stored layout is the array's code layout.
    assign codes_o = word_i[NumPe*CodeW-1:0];

    if (WordBytes * 8 > NumPe * CodeW) begin : gen_unused
      // Padding past the NumPe codes (zero_byte 0x55 in images) is ignored.
      logic unused_pad;
      assign unused_pad = ^word_i[WordBytes*8-1:NumPe*CodeW];
    end
  end else begin : gen_base3
    // Decoded codes of every used byte, 5 per byte (the last byte may hold
    // codes past NumPe, which are dropped).
    logic [UsedBytes*5*CodeW-1:0] all_codes;
`ifndef SYNTHESIS
    logic [UsedBytes-1:0] bad_inv;  // byte j decodes to invalid codes wrongly
`endif

    for (genvar j = 0; j < UsedBytes; j++) begin : gen_byte
      logic inv;  // byte > 242 (its codes are already 3; unused here)
      tri_dec_base3 u_dec (
        .byte_i  (word_i[8*j +: 8]),
        .codes_o (all_codes[5*CodeW*j +: 5*CodeW]),
        .inv_o   (inv)
      );
`ifndef SYNTHESIS
      // The invalid code 3 comes out of a byte only if the byte is invalid
      // (then all five codes are 3): a valid byte never makes one.
      logic [4:0] is_inv;  // code d of this byte is 3
      for (genvar d = 0; d < 5; d++) begin : gen_digit
        assign is_inv[d] = (all_codes[CodeW*(5*j + d) +: CodeW] == tri_pkg::CodeInv);
      end
      assign bad_inv[j] = `TRI_KNOWN(word_i[8*j +: 8]) && is_inv != {5{inv}};
`else
      logic unused_inv;
      assign unused_inv = inv;
`endif
    end

    assign codes_o = all_codes[NumPe*CodeW-1:0];

`ifndef SYNTHESIS
    // One property over a flag per byte (see mac_array_acc).
    always_comb begin
      `TRI_ASSERT_FINAL(InvOnlyFromInvalidByte_A, bad_inv == '0,
          ("%m: bytes %b decode to invalid codes without being invalid", bad_inv))
    end
`endif

    if (UsedBytes * 5 > NumPe) begin : gen_unused_codes
      logic unused_codes;
      assign unused_codes = ^all_codes[UsedBytes*5*CodeW-1:NumPe*CodeW];
    end
    if (WordBytes > UsedBytes) begin : gen_unused_bytes
      logic unused_bytes;
      assign unused_bytes = ^word_i[WordBytes*8-1:UsedBytes*8];
    end
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time checks: a known format, and a word large enough.
  if (Format > 1) begin : gen_format_check
    $error("tri_wdec: Format must be 0 (2-bit) or 1 (base-3)");
  end
  if (WordBytes < UsedBytes) begin : gen_word_check
    $error("tri_wdec: WordBytes must hold Cols*Lanes weights");
  end

endmodule
