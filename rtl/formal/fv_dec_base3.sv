// Copyright tritium contributors.
//
// fv_dec_base3: the base-3 decoder equals the golden unpack
// (golden::image::base3_unpack: digit d = (byte / 3^d) mod 3, code = digit)
// for all 256 byte values, and flags exactly the 13 invalid bytes 243..255
// (all five codes then read 3). The reference divides; the decoder may not.

module fv_dec_base3 (
  input logic [7:0] byte_i
);
  logic [5*tri_pkg::CodeW-1:0] codes;
  logic inv;

  tri_dec_base3 dut (
    .byte_i  (byte_i),
    .codes_o (codes),
    .inv_o   (inv)
  );

  // The reference codes, by division (3 for all five of an invalid byte).
  logic [5*tri_pkg::CodeW-1:0] ref_codes;
  integer r;
  always @* begin
    r = byte_i;
    for (int d = 0; d < 5; d++) begin
      ref_codes[2*d +: 2] = (byte_i > 8'd242) ? tri_pkg::CodeInv : 2'(r % 3);
      r = r / 3;
    end
    Base3Invalid_A: assert (inv == (byte_i > 8'd242));
    Base3Codes_A: assert (codes == ref_codes);
  end
endmodule
