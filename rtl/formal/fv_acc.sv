// Copyright tritium contributors.
//
// fv_acc: the accumulator (mac_array_acc, shared by both arrays; one column)
// cannot overflow for any input when the beats of a tile respect KMax, and
// the accumulator width the RTL derives, AccW = $clog2(128 * KMax + 1) + 1,
// is the smallest that works: with AccWOverride = AccW - 1 the proof must
// FAIL (a counterexample of depth about KMax / Lanes beats).
//
// Compositional: the lane terms are free inputs constrained to the range the
// PE proof (fv_tri_pe) establishes, [-128, +128]; the adder tree is the
// RTL's (fv_adder_tree proves it exact). The environment plays
// mac_array_ctrl's part: stage 1 holds the beat accepted in the previous
// cycle, a clear drops the tile (and a beat accepted with it starts the next
// one, as in rtl/INTERFACE.md), and a tile takes at most ceil(KMax / Lanes)
// beats (the array's TileBeats_A rule). The invariant AccBound_A (the
// accumulator holds at most 128 * Lanes per beat summed) makes the
// no-overflow property inductive, so k-induction proves it for every tile
// length, not only up to a bound.

module fv_acc #(
  parameter int unsigned Lanes        = 64,
  parameter int unsigned KMax         = 2560,
  parameter int unsigned AccWOverride = 0,  // 0: the RTL's AccW
  // 1: the column's Lanes terms are given as their sum, one term of
  // TermW + clog2(Lanes) bits in [-128 Lanes, +128 Lanes] (the range the tree
  // proof gives): the same accumulator input, without a 64-term tree per
  // step, so that the narrow-width control's counterexample (tens of beats
  // deep) is found in seconds.
  parameter bit          ColumnSum    = 1'b0,
  localparam int unsigned AccWRtl = $clog2(128 * KMax + 1) + 1,
  localparam int unsigned AccW    = (AccWOverride != 0) ? AccWOverride : AccWRtl
) (
  input logic                   clk_i,
  input logic                   rst_ni,
  input logic                   accept_i,
  input logic                   clear_i,
  input logic [Lanes*tri_pkg::TermW-1:0] terms_i
);
  localparam int unsigned TermW    = tri_pkg::TermW;
  localparam int unsigned SumW     = TermW + $clog2(Lanes);
  localparam int unsigned MaxBeats = (KMax + Lanes - 1) / Lanes;
  localparam int unsigned CntW     = $clog2(MaxBeats + 1) + 1;

  logic [AccW-1:0] acc;
  logic            s1_q;
  logic [CntW-1:0] taken_q, summed_q;  // beats accepted / accumulated in this tile

  logic term_ok;  // the accumulator's input terms are in range
  if (ColumnSum) begin : gen_sum
    logic [SumW-1:0] col_sum;
    assign col_sum = terms_i[SumW-1:0];
    assign term_ok = $signed(col_sum) >= -128 * $signed(Lanes) &&
                     $signed(col_sum) <= 128 * $signed(Lanes);
    mac_array_acc #(
      .Cols  (1),
      .Lanes (1),
      .TermW (SumW),
      .AccW  (AccW)
    ) dut (
      .clk_i     (clk_i),
      .rst_ni    (rst_ni),
      .accept_i  (accept_i),
      .s1_vld_i  (s1_q),
      .acc_clr_i (clear_i),
      .terms_i   (col_sum),
      .acc_o     (acc)
    );
  end else begin : gen_lanes
    logic [Lanes-1:0] lane_ok;  // lane l's term is in [-128, +128]
    always @* begin
      for (int l = 0; l < Lanes; l++) begin
        lane_ok[l] = $signed(terms_i[TermW*l +: TermW]) >= -128 &&
                     $signed(terms_i[TermW*l +: TermW]) <= 128;
      end
    end
    assign term_ok = &lane_ok;
    mac_array_acc #(
      .Cols  (1),
      .Lanes (Lanes),
      .TermW (TermW),
      .AccW  (AccW)
    ) dut (
      .clk_i     (clk_i),
      .rst_ni    (rst_ni),
      .accept_i  (accept_i),
      .s1_vld_i  (s1_q),
      .acc_clr_i (clear_i),
      .terms_i   (terms_i),
      .acc_o     (acc)
    );
  end

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      s1_q     <= 1'b0;
      taken_q  <= '0;
      summed_q <= '0;
    end else begin
      s1_q     <= accept_i;
      taken_q  <= (clear_i ? '0 : taken_q) + CntW'(accept_i);
      summed_q <= clear_i ? '0 : summed_q + CntW'(s1_q);
    end
  end

  initial assume (!rst_ni);

  always @* begin
    TermRange_M: assume (term_ok);
    if (rst_ni) begin
      // The tile-length rule of the array (TileBeats_A).
      TileBeats_M: assume (!accept_i || (clear_i ? 0 : taken_q) < MaxBeats);
    end
  end

  // Invariants of the environment and the bound that makes no-overflow inductive.
  logic signed [47:0] acc_s, bound;
  assign acc_s = 48'($signed(acc));
  assign bound = 48'(summed_q) * 48'(128 * Lanes);
  always @(posedge clk_i) begin
    if (rst_ni) begin
      BeatCount_A: assert (taken_q == summed_q + CntW'(s1_q) && taken_q <= MaxBeats);
      AccBound_A: assert (acc_s <= bound && -acc_s <= bound);
    end
  end
endmodule
