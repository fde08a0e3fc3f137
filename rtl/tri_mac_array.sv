// Copyright tritium contributors.
//
// tri_mac_array: add-only ternary (W1.58A8) MAC array. Contract: rtl/INTERFACE.md.
//
// Cols columns (output channels) share one broadcast beat of Lanes int8
// activations. Each column has Lanes tri_pe lanes (weight code -> +a, -a or 0),
// a width-growing tri_adder_tree over the lanes and one AccW-bit accumulator.
// There is no multiplier in the datapath.
//
// Beat format (one weight beat + one activation beat per accepted cycle):
//
//   w_data_i[2*(c*Lanes + l) +: 2]  code of column c, lane l (0: -1, 1: 0, 2: +1, 3: invalid)
//   a_data_i[8*l +: 8]              activation of lane l, two's complement
//   r_data_o[AccW*c +: AccW]         result of column c, two's complement (acc_o alike)
//
// Pipeline (latency 2, throughput 1 beat per cycle within a tile):
//
//   cycle T   : beat accepted (w_valid_i & a_valid_i & ready). PEs and adder
//               trees compute the column sums combinationally from the ports;
//               they, the beat's add/skip counts and the last flag are
//               registered at the end of T (stage 1: sum_q here, s1_*_q in
//               u_ctrl).
//   cycle T+1 : acc_q += sum_q (stage 2); cnt_adds/cnt_skips += the beat's counts.
//               If the beat was the last one, r_valid_q is set at the end of T+1.
//   cycle T+2 : r_valid_o = 1, r_data_o = acc_q (the accumulators themselves:
//               they are frozen while a result is pending, so no separate
//               result register is needed).
//
//   The input ready (w_ready_o == a_ready_o) drops the cycle after the last
//   beat of a tile is accepted and rises again the cycle after the result
//   handshake (r_valid_o & r_ready_i). With both inputs always valid and
//   r_ready_i held high, a tile of B beats therefore takes B + 2 cycles: B
//   beats back to back, then two cycles without input (T+1 drain, T+2 result
//   handshake); the next tile's first beat is accepted in T+3.
//
// Accumulator width: AccW = $clog2(128 * KMax + 1) + 1. The extremes are
// +128 * KMax (all weights -1, all activations -128) and -128 * KMax; the
// positive one needs the extra bit (KMax = 8192: 22 bits). Overflow is
// impossible as long as at most KMax lanes of a tile carry a nonzero term; the
// beat count per tile is asserted to be <= ceil(KMax / Lanes) and the
// accumulator update itself is asserted not to overflow.
//
// acc_o (= r_data_o) shows the accumulators; a beat accepted in cycle T is
// visible there from cycle T+2.
//
// Control: handshakes, pending/ready, the stage-1 valid/last/count flags, the
// beat counter, the five counters and the protocol assertions are in
// mac_array_ctrl (instance u_ctrl), shared with int8_mac_array. This file
// holds the datapath (PEs, trees, column sums, accumulators), the sticky
// err_code_o flag and the datapath assertions.
//
// Every `*` in this file and in tri_adder_tree.sv is elaboration-time
// arithmetic on parameters and genvars (widths, bit offsets), never hardware.

module tri_mac_array #(
  parameter int unsigned Cols  = 4,     // output channels computed in parallel
  parameter int unsigned Lanes = 8,     // int8 activations per beat
  parameter int unsigned KMax  = 8192,  // largest K (inputs per output row)
  localparam int unsigned AccW = $clog2(128 * KMax + 1) + 1
) (
  input  logic                                 clk_i,
  input  logic                                 rst_ni,

  input  logic                                 clear_i,
  input  logic                                 cnt_clear_i,

  // Weight stream.
  input  logic                                 w_valid_i,
  output logic                                 w_ready_o,
  input  logic [Cols*Lanes*tri_pkg::CodeW-1:0] w_data_i,

  // Activation stream.
  input  logic                                 a_valid_i,
  output logic                                 a_ready_o,
  input  logic [Lanes*tri_pkg::ActW-1:0]       a_data_i,
  input  logic                                 a_last_i,

  // Result stream.
  output logic                                 r_valid_o,
  input  logic                                 r_ready_i,
  output logic [Cols*AccW-1:0]                 r_data_o,

  // Debug and statistics.
  output logic [Cols*AccW-1:0]                 acc_o,
  output logic [63:0]                          cnt_cycles_o,
  output logic [63:0]                          cnt_busy_o,
  output logic [63:0]                          cnt_stall_o,
  output logic [63:0]                          cnt_adds_o,
  output logic [63:0]                          cnt_skips_o,
  output logic                                 err_code_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned CodeW = tri_pkg::CodeW;  // bits per weight code
  localparam int unsigned ActW  = tri_pkg::ActW;   // bits per activation
  localparam int unsigned TermW = tri_pkg::TermW;  // bits per signed lane term

  // Width of one column's lane sum: TermW + one bit per adder-tree level.
  localparam int unsigned SumW  = TermW + $clog2(Lanes);
  // Lanes summed over all columns.
  localparam int unsigned NumPe = Cols * Lanes;

  /////////////
  // Control //
  /////////////

  // Handshakes, stage-1 control flags, tile rules, counters and protocol
  // assertions: mac_array_ctrl, shared with int8_mac_array.
  logic                 accept;     // a beat (weights + activations) is accepted this cycle
  logic                 s1_vld;     // sum_q holds an accepted beat
  logic                 acc_clr;    // zero the accumulators (clear_i or result handshake)
  logic [NumPe-1:0]     lane_add;   // per lane (index c*Lanes + l): code 0 or 2
  logic [NumPe-1:0]     lane_skip;  // code 1
  logic [NumPe-1:0]     lane_inv;   // code 3
  logic [Cols*AccW-1:0] acc_q, acc_d;

  mac_array_ctrl #(
    .Cols   (Cols),
    .Lanes  (Lanes),
    .KMax   (KMax),
    .WDataW (Cols*Lanes*CodeW),
    .ADataW (Lanes*ActW),
    .RDataW (Cols*AccW)
  ) u_ctrl (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (clear_i),
    .cnt_clear_i  (cnt_clear_i),
    .w_valid_i    (w_valid_i),
    .w_ready_o    (w_ready_o),
    .w_data_i     (w_data_i),
    .a_valid_i    (a_valid_i),
    .a_ready_o    (a_ready_o),
    .a_data_i     (a_data_i),
    .a_last_i     (a_last_i),
    .r_valid_o    (r_valid_o),
    .r_ready_i    (r_ready_i),
    .r_data_i     (acc_q),
    .accept_o     (accept),
    .s1_vld_o     (s1_vld),
    .acc_clr_o    (acc_clr),
    .lane_add_i   (lane_add),
    .lane_skip_i  (lane_skip),
    .cnt_cycles_o (cnt_cycles_o),
    .cnt_busy_o   (cnt_busy_o),
    .cnt_stall_o  (cnt_stall_o),
    .cnt_adds_o   (cnt_adds_o),
    .cnt_skips_o  (cnt_skips_o)
  );

  /////////////////////////////////////////////
  // Stage 0: PEs and per-column adder trees //
  /////////////////////////////////////////////

  logic [Cols*SumW-1:0] col_sum;   // column c at [SumW*c +: SumW]
  logic                 beat_inv;  // some lane of the beat holds code 3

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    logic [Lanes*TermW-1:0] terms;  // lane l at [TermW*l +: TermW]

    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      tri_pe u_pe (
        .code_i (w_data_i[CodeW*(c*Lanes + l) +: CodeW]),
        .act_i  (a_data_i[ActW*l +: ActW]),
        .term_o (terms[TermW*l +: TermW]),
        .add_o  (lane_add[c*Lanes + l]),
        .skip_o (lane_skip[c*Lanes + l]),
        .inv_o  (lane_inv[c*Lanes + l])
      );
    end

    tri_adder_tree #(
      .N      (Lanes),
      .InW    (TermW),
      .Signed (1'b1)
    ) u_sum_tree (
      .terms_i (terms),
      .sum_o   (col_sum[SumW*c +: SumW])
    );
  end

  assign beat_inv = |lane_inv;

  /////////////////////////////////////
  // Stage 1: registered column sums //
  /////////////////////////////////////

  logic [Cols*SumW-1:0] sum_q, sum_d;  // column sums of the beat (datapath, no reset)

  // Datapath registers only load on an accepted beat.
  assign sum_d = accept ? col_sum : sum_q;

  ///////////////////////////
  // Stage 2: accumulators //
  ///////////////////////////

  // Internal vectors are flat like the ports (column c at [W*c +: W]) so that
  // Yosys 0.23, which rejects packed multi-dimensional arrays, can read the RTL.
  logic [Cols*AccW-1:0] sum_ext;  // sum_q resized (sign-extended) to AccW
  logic [Cols*AccW-1:0] acc_sum;  // acc_q + sum_ext, per column

  for (genvar c = 0; c < Cols; c++) begin : gen_acc
    logic [SumW-1:0] sum_c;

    assign sum_c = sum_q[SumW*c +: SumW];

    if (SumW <= AccW) begin : gen_sext
      assign sum_ext[AccW*c +: AccW] = AccW'($signed(sum_c));
    end else begin : gen_trunc
      // Only for Lanes close to or above KMax (e.g. Lanes = KMax = 5): the tree
      // is wider than the accumulator, but a legal beat has at most KMax
      // nonzero lanes, so its sum fits in AccW bits and the dropped bits are
      // sign copies (asserted below).
      assign sum_ext[AccW*c +: AccW] = sum_c[AccW-1:0];
    end

    assign acc_sum[AccW*c +: AccW] = acc_q[AccW*c +: AccW] + sum_ext[AccW*c +: AccW];
  end

  always_comb begin
    acc_d = acc_q;
    if (acc_clr) begin
      // Result taken or tile dropped: the next tile starts from zero. A beat in
      // stage 1 during clear_i belongs to the dropped tile and is discarded.
      acc_d = '0;
    end else if (s1_vld) begin
      acc_d = acc_sum;
    end
  end

  assign r_data_o = acc_q;
  assign acc_o    = acc_q;

  ///////////////////////
  // Invalid-code flag //
  ///////////////////////

  logic err_q, err_d;

  // Sticky until reset (neither clear_i nor cnt_clear_i clears it).
  assign err_d      = err_q | (accept & beat_inv);
  assign err_code_o = err_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      acc_q <= '0;
      err_q <= 1'b0;
    end else begin
      acc_q <= acc_d;
      err_q <= err_d;
    end
  end

  // Datapath register: no reset, only read when s1_vld says so.
  always_ff @(posedge clk_i) begin
    sum_q <= sum_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (Cols < 1 || Lanes < 1 || KMax < 1) begin : gen_param_check
    $error("tri_mac_array: Cols, Lanes and KMax must be >= 1");
  end
  if (KMax > (1 << 23)) begin : gen_kmax_check
    $error("tri_mac_array: KMax must be <= 2^23 (128 * KMax must fit in 31 bits)");
  end

`ifndef SYNTHESIS
  // The protocol assertions (rules 1, 3, 4, 5) are in mac_array_ctrl (u_ctrl).

  // No invalid code 3 on an accepted weight beat (also flagged on err_code_o).
  NoInvalidCode_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      accept |-> !beat_inv)
    else $error("%m: accepted weight beat holds the invalid code 3");
  KnownErrCode_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !$isunknown(err_code_o))
    else $error("%m: unknown err_code_o");

  // No accumulator overflow (backs up TileBeats_A: also catches a tile whose
  // nonzero lanes exceed KMax, possible when Lanes does not divide KMax).
  for (genvar c = 0; c < Cols; c++) begin : gen_acc_assert
    logic [AccW-1:0] acc_c, sum_ext_c;
    logic [AccW:0]   acc_wide;  // acc_q + sum_ext with one bit of headroom

    assign acc_c     = acc_q[AccW*c +: AccW];
    assign sum_ext_c = sum_ext[AccW*c +: AccW];
    assign acc_wide  = {acc_c[AccW-1], acc_c} + {sum_ext_c[AccW-1], sum_ext_c};

    AccNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
        s1_vld && !clear_i |-> acc_wide[AccW] == acc_wide[AccW-1])
      else $error("%m: accumulator of column %0d overflows", c);

    if (SumW > AccW) begin : gen_trunc_assert
      SumFits_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
          s1_vld |-> gen_acc[c].sum_c[SumW-1:AccW-1] == '0 ||
                     gen_acc[c].sum_c[SumW-1:AccW-1] == '1)
        else $error("%m: column %0d beat sum does not fit AccW", c);
    end
  end
`endif

endmodule
