// Copyright tritium contributors.
//
// mac_array_acc: the column sums and accumulators shared by tri_mac_array and
// int8_mac_array (contract: rtl/INTERFACE.md). Both arrays instantiate it
// (instance u_acc) next to their mac_array_ctrl (u_ctrl), so everything after
// the PEs is the same by construction; only the lane terms differ (9-bit
// ternary terms or 16-bit INT8 products) and, through the arrays' AccW, the
// accumulator width.
//
// What lives here, per column c:
//
//   * stage 0: a width-growing tri_adder_tree over the column's Lanes terms
//     (combinational, from the PEs' outputs of this cycle's beat);
//   * stage 1: the registered column sum sum_q, loaded on an accepted beat;
//   * stage 2: the AccW-bit accumulator acc_q += the column sum resized to
//     AccW (sign-extended, or truncated when the tree is wider, see below);
//     zeroed by acc_clr_i, which wins over s1_vld_i;
//   * the datapath assertions: no accumulator overflow (AccNoOverflow_A) and,
//     when the tree is wider than the accumulator, no beat sum out of range
//     (SumFits_A).
//
// Inputs from mac_array_ctrl (see there) and the timing they give: a beat
// accepted in cycle T (accept_i) is in sum_q in T+1 (s1_vld_i) and in acc_o
// from T+2. acc_o is the array's r_data_o and acc_o: the accumulators are
// frozen while a result is pending, so no separate result register is needed.
//
// Widths: SumW = TermW + $clog2(Lanes) (one bit of growth per tree level).
// AccW is the array's accumulator width (its extremes over KMax lanes). If
// SumW > AccW (Lanes close to or above KMax, e.g. Lanes = KMax = 5), the beat
// sum is truncated to AccW bits: a legal beat has at most KMax nonzero lanes,
// so its sum fits and the dropped bits are sign copies (SumFits_A).
//
// Every `*` in this file is elaboration-time arithmetic on parameters and
// genvars (widths, bit offsets), never hardware.

module mac_array_acc #(
  parameter int unsigned Cols  = 4,   // columns (one accumulator each)
  parameter int unsigned Lanes = 8,   // lane terms summed per column and beat
  parameter int unsigned TermW = 9,   // bits per signed lane term
  parameter int unsigned AccW  = 22,  // bits per signed accumulator
  localparam int unsigned SumW = TermW + $clog2(Lanes)
) (
  input  logic                        clk_i,
  input  logic                        rst_ni,

  // From mac_array_ctrl.
  input  logic                        accept_i,   // load stage 1 with this cycle's beat
  input  logic                        s1_vld_i,   // stage 1 holds an accepted beat: accumulate it
  input  logic                        acc_clr_i,  // zero the accumulators (wins over s1_vld_i)

  // This cycle's lane terms from the PEs (column c, lane l at
  // [TermW*(c*Lanes + l) +: TermW]), and the accumulators (column c at
  // [AccW*c +: AccW]); all two's complement.
  input  logic [Cols*Lanes*TermW-1:0] terms_i,
  output logic [Cols*AccW-1:0]        acc_o
);

  /////////////////////////////////////
  // Stage 0: per-column adder trees //
  /////////////////////////////////////

  // Internal vectors are flat like the ports (column c at [W*c +: W]) so that
  // Yosys 0.23, which rejects packed multi-dimensional arrays, can read the RTL.
  logic [Cols*SumW-1:0] col_sum;  // lane sum of column c at [SumW*c +: SumW]

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    tri_adder_tree #(
      .N      (Lanes),
      .InW    (TermW),
      .Signed (1'b1)
    ) u_sum_tree (
      .terms_i (terms_i[Lanes*TermW*c +: Lanes*TermW]),
      .sum_o   (col_sum[SumW*c +: SumW])
    );
  end

  /////////////////////////////////////
  // Stage 1: registered column sums //
  /////////////////////////////////////

  logic [Cols*SumW-1:0] sum_q, sum_d;  // column sums of the beat (datapath, no reset)

  // Datapath registers only load on an accepted beat.
  assign sum_d = accept_i ? col_sum : sum_q;

  ///////////////////////////
  // Stage 2: accumulators //
  ///////////////////////////

  logic [Cols*AccW-1:0] acc_q, acc_d;
  logic [Cols*AccW-1:0] sum_ext;  // sum_q resized (sign-extended) to AccW
  logic [Cols*AccW-1:0] acc_sum;  // acc_q + sum_ext, per column

  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    logic [SumW-1:0] sum_c;

    assign sum_c = sum_q[SumW*c +: SumW];

    if (SumW <= AccW) begin : gen_sext
      assign sum_ext[AccW*c +: AccW] = AccW'($signed(sum_c));
    end else begin : gen_trunc
      // The tree is wider than the accumulator; the dropped bits are sign
      // copies for a legal beat (see the header; asserted below).
      assign sum_ext[AccW*c +: AccW] = sum_c[AccW-1:0];
    end

    assign acc_sum[AccW*c +: AccW] = acc_q[AccW*c +: AccW] + sum_ext[AccW*c +: AccW];
  end

  always_comb begin
    acc_d = acc_q;
    if (acc_clr_i) begin
      // Result taken or tile dropped: the next tile starts from zero. A beat in
      // stage 1 during clear_i belongs to the dropped tile and is discarded.
      acc_d = '0;
    end else if (s1_vld_i) begin
      acc_d = acc_sum;
    end
  end

  assign acc_o = acc_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= '0;
    end else begin
      acc_q <= acc_d;
    end
  end

  // Datapath register: no reset, only read when s1_vld_i says so.
  always_ff @(posedge clk_i) begin
    sum_q <= sum_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter check.
  if (Cols < 1 || Lanes < 1 || TermW < 1 || AccW < 1) begin : gen_param_check
    $error("mac_array_acc: Cols, Lanes, TermW and AccW must be >= 1");
  end

`ifndef SYNTHESIS
  // No accumulator overflow (backs up mac_array_ctrl's TileBeats_A: also
  // catches a tile whose nonzero lanes exceed KMax, possible when Lanes does
  // not divide KMax). Checked whenever acc_q takes acc_sum. One property
  // over a flag per column (a named property in a generate loop would be
  // one per column, which the formal front end cannot name apart).
  logic [Cols-1:0] ovf;    // column c's update overflows
  logic [Cols-1:0] unfit;  // column c's beat sum does not fit AccW
  for (genvar c = 0; c < Cols; c++) begin : gen_acc_assert
    logic [AccW-1:0] acc_c, sum_ext_c;
    logic [AccW:0]   acc_wide;  // acc_q + sum_ext with one bit of headroom

    assign acc_c     = acc_q[AccW*c +: AccW];
    assign sum_ext_c = sum_ext[AccW*c +: AccW];
    assign acc_wide  = {acc_c[AccW-1], acc_c} + {sum_ext_c[AccW-1], sum_ext_c};
    assign ovf[c]    = acc_wide[AccW] != acc_wide[AccW-1];

    if (SumW > AccW) begin : gen_trunc_assert
      assign unfit[c] = !(gen_acc[c].sum_c[SumW-1:AccW-1] == '0 ||
                          gen_acc[c].sum_c[SumW-1:AccW-1] == '1);
    end else begin : gen_fits
      assign unfit[c] = 1'b0;
    end
  end

  `TRI_ASSERT_IMP(AccNoOverflow_A, s1_vld_i && !acc_clr_i,
      ovf == '0,
      ("%m: accumulators of columns %b overflow", ovf))
  `TRI_ASSERT_IMP(SumFits_A, s1_vld_i,
      unfit == '0,
      ("%m: beat sums of columns %b do not fit AccW", unfit))
`endif

endmodule
