// Copyright tritium contributors.
//
// tri_dec_base3: one stored base-3 byte -> five 2-bit weight codes.
// Purely combinational. Layout: rtl/INTERFACE.md, "tri_accel", stored weights.
//
// A byte b holds five weights t_0..t_4 (each -1, 0, +1) as
//
//   b = sum_d (t_d + 1) * 3^d,   d = 0..4,   b in 0..242
//
// so digit d (a value 0..2) is exactly the 2-bit code t_d + 1 of tri_pkg
// (0: -1, 1: 0, 2: +1). Bytes 243..255 are invalid: all five codes become 3
// (the invalid code of tri_pkg, treated as weight 0 and flagged by the PEs),
// the same as tritium_golden::image::unpack_word.
//
// No multiplier or divider: the digits come from four compare-and-subtract
// stages against constants, most significant digit first,
//
//   d4: >= 162 -> 2, subtract 162 | >= 81 -> 1, subtract 81   (rest 0..80)
//   d3: >=  54 -> 2, subtract  54 | >= 27 -> 1, subtract 27   (rest 0..26)
//   d2: >=  18 -> 2, subtract  18 | >=  9 -> 1, subtract  9   (rest 0..8)
//   d1: >=   6 -> 2, subtract   6 | >=  3 -> 1, subtract  3   (rest 0..2)
//   d0: the rest
//
// i.e. a restoring division by 81, 27, 9 and 3 written out with constant
// comparators and subtractors (each rest fits the next stage's width when
// the byte is valid; for invalid bytes the digits are don't-care).

module tri_dec_base3 (
  input  logic [7:0]                  byte_i,   // stored byte
  output logic [5*tri_pkg::CodeW-1:0] codes_o,  // code of digit d at [2*d +: 2]
  output logic                        inv_o     // byte > 242: all codes are 3
);

  localparam int unsigned CodeW = tri_pkg::CodeW;

  // One compare-and-subtract stage: digit and rest of r against 2*p and p.
  logic [1:0] d4, d3, d2, d1, d0;
  logic [7:0] r4;  // byte - d4 * 81 (0..80 when valid)
  logic [6:0] r3;  // r4 - d3 * 27   (0..26)
  logic [4:0] r2;  // r3 - d2 * 9    (0..8)
  logic [3:0] r1;  // r2 - d1 * 3    (0..2)

  always_comb begin
    // Digit 4 (weight 3^4 = 81).
    if (byte_i >= 8'd162) begin
      d4 = 2'd2;
      r4 = byte_i - 8'd162;
    end else if (byte_i >= 8'd81) begin
      d4 = 2'd1;
      r4 = byte_i - 8'd81;
    end else begin
      d4 = 2'd0;
      r4 = byte_i;
    end
    // Digit 3 (27). For a valid byte r4 <= 80 fits 7 bits.
    if (r4 >= 8'd54) begin
      d3 = 2'd2;
      r3 = 7'(r4 - 8'd54);
    end else if (r4 >= 8'd27) begin
      d3 = 2'd1;
      r3 = 7'(r4 - 8'd27);
    end else begin
      d3 = 2'd0;
      r3 = 7'(r4);
    end
    // Digit 2 (9). r3 <= 26 fits 5 bits.
    if (r3 >= 7'd18) begin
      d2 = 2'd2;
      r2 = 5'(r3 - 7'd18);
    end else if (r3 >= 7'd9) begin
      d2 = 2'd1;
      r2 = 5'(r3 - 7'd9);
    end else begin
      d2 = 2'd0;
      r2 = 5'(r3);
    end
    // Digit 1 (3). r2 <= 8 fits 4 bits.
    if (r2 >= 5'd6) begin
      d1 = 2'd2;
      r1 = 4'(r2 - 5'd6);
    end else if (r2 >= 5'd3) begin
      d1 = 2'd1;
      r1 = 4'(r2 - 5'd3);
    end else begin
      d1 = 2'd0;
      r1 = 4'(r2);
    end
    // Digit 0: the rest (0..2 when valid).
    d0 = r1[1:0];
  end

  assign inv_o   = (byte_i > 8'd242);
  assign codes_o = inv_o ? {5{tri_pkg::CodeInv}} : {d4, d3, d2, d1, d0};

  ////////////////
  // Assertions //
  ////////////////

`ifndef SYNTHESIS
  // The digits of a valid byte are codes 0..2 and re-encode to the byte.
  // The reference multiplies by the constants 3, 9, 27, 81 with shifts and
  // adds (simulation only; still no `*`).
  logic [9:0] reenc;  // sum_d d_d * 3^d

  always_comb begin
    reenc = 10'(d0)
          + (10'(d1) << 1) + 10'(d1)
          + (10'(d2) << 3) + 10'(d2)
          + (10'(d3) << 4) + (10'(d3) << 3) + (10'(d3) << 1) + 10'(d3)
          + (10'(d4) << 6) + (10'(d4) << 4) + 10'(d4);
    if (`TRI_KNOWN(byte_i) && !inv_o) begin
      `TRI_ASSERT_FINAL(DigitsValid_A, d0 != 2'd3 && d1 != 2'd3 && d2 != 2'd3 && d3 != 2'd3 && d4 != 2'd3 && r1 <= 4'd2,
          ("%m: byte %0d decodes to an out-of-range digit", byte_i))
      `TRI_ASSERT_FINAL(Reencode_A, reenc == 10'(byte_i),
          ("%m: byte %0d decodes to digits re-encoding to %0d", byte_i, reenc))
    end
  end
`endif

  // CodeW is 2: the five digits are packed as 2-bit codes.
  if (CodeW != 2) begin : gen_codew_check
    $error("tri_dec_base3: tri_pkg::CodeW must be 2");
  end

endmodule
