// Copyright tritium contributors.
//
// int8_mac_array: INT8 x INT8 (W8A8) MAC array, the comparison twin of
// tri_mac_array. Comparison RTL: tritium's accelerator is tri_mac_array; this
// exists so that the FPGA flow (fpga/) synthesizes an INT8 array of the same
// shape, with the same handshakes, pipeline and counters, in the same style.
// Only the datapath differs:
//
//   * a weight is int8 (8 bits per lane instead of a 2-bit ternary code), and
//     each lane is an int8_pe: a real signed 8 x 8 multiplier (16-bit product);
//   * the width-growing tri_adder_tree sums 16-bit products instead of 9-bit terms;
//   * AccW = $clog2(16384 * KMax + 1) + 1: the extremes are +16384 * KMax
//     (all weights and activations -128) and -16256 * KMax (KMax = 8192: 29 bits);
//   * there is no invalid weight code, hence no err_code_o; cnt_adds_o counts
//     lanes with a nonzero weight (multiply-adds issued), cnt_skips_o lanes
//     with a zero weight (a real INT8 datapath still spends the multiply).
//
// Beat format (one weight beat + one activation beat per accepted cycle):
//
//   w_data_i[8*(c*Lanes + l) +: 8]  weight of column c, lane l, two's complement
//   a_data_i[8*l +: 8]              activation of lane l, two's complement
//   r_data_o[AccW*c +: AccW]         result of column c, two's complement (acc_o alike)
//
// Pipeline, handshakes, tile rules and counters: exactly as tri_mac_array
// (see its header and rtl/INTERFACE.md): latency 2, one beat per cycle.
//
// Every `*` in this file is elaboration-time arithmetic on parameters and
// genvars, except the multiplier inside int8_pe.

module int8_mac_array #(
  parameter int unsigned Cols  = 4,     // output channels computed in parallel
  parameter int unsigned Lanes = 8,     // int8 activations per beat
  parameter int unsigned KMax  = 8192,  // largest K (inputs per output row)
  localparam int unsigned AccW = $clog2(16384 * KMax + 1) + 1
) (
  input  logic                                 clk_i,
  input  logic                                 rst_ni,

  input  logic                                 clear_i,
  input  logic                                 cnt_clear_i,

  // Weight stream.
  input  logic                                 w_valid_i,
  output logic                                 w_ready_o,
  input  logic [Cols*Lanes*8-1:0]              w_data_i,

  // Activation stream.
  input  logic                                 a_valid_i,
  output logic                                 a_ready_o,
  input  logic [Lanes*8-1:0]                   a_data_i,
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
  output logic [63:0]                          cnt_skips_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned WgtW  = 8;                // bits per int8 weight
  localparam int unsigned ActW  = 8;                // bits per int8 activation
  localparam int unsigned TermW = 16;              // bits per signed lane product

  // Width of one column's lane sum: TermW + one bit per adder-tree level.
  localparam int unsigned SumW     = TermW + $clog2(Lanes);
  // Most beats a tile may have, and the width of the per-tile beat counter.
  localparam int unsigned MaxBeats = (KMax + Lanes - 1) / Lanes;
  localparam int unsigned BeatW    = $clog2(MaxBeats + 1);
  // Lanes summed over all columns, and the width of a per-beat popcount of them.
  localparam int unsigned NumPe    = Cols * Lanes;
  localparam int unsigned StatW    = 1 + $clog2(NumPe);

  ////////////////
  // Handshakes //
  ////////////////

  logic in_rdy_q, in_rdy_d;    // input streams ready (low in reset and while a result is pending)
  logic pending_q, pending_d;  // the last beat of a tile was accepted, result not yet taken
  logic r_valid_q, r_valid_d;  // result valid
  logic accept;                // a beat (weights + activations) is accepted this cycle
  logic r_hs;                  // result handshake this cycle

  assign w_ready_o = in_rdy_q;
  assign a_ready_o = in_rdy_q;
  assign accept    = w_valid_i & a_valid_i & in_rdy_q;
  assign r_valid_o = r_valid_q;
  assign r_hs      = r_valid_q & r_ready_i;

  /////////////////////////////////////////////
  // Stage 0: PEs and per-column adder trees //
  /////////////////////////////////////////////

  logic [NumPe-1:0]     lane_add;   // per lane (index c*Lanes + l): weight nonzero
  logic [NumPe-1:0]     lane_skip;  // weight zero
  logic [Cols*SumW-1:0] col_sum;    // column c at [SumW*c +: SumW]

  for (genvar c = 0; c < Cols; c++) begin : gen_col
    logic [Lanes*TermW-1:0] terms;  // lane l product at [TermW*l +: TermW]

    for (genvar l = 0; l < Lanes; l++) begin : gen_lane
      int8_pe u_pe (
        .w_i    (w_data_i[WgtW*(c*Lanes + l) +: WgtW]),
        .a_i    (a_data_i[ActW*l +: ActW]),
        .prod_o (terms[TermW*l +: TermW]),
        .nz_o   (lane_add[c*Lanes + l])
      );
      assign lane_skip[c*Lanes + l] = ~lane_add[c*Lanes + l];
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

  // Per-beat statistics: popcounts of the lane flags over all columns.
  logic [StatW-1:0] beat_adds, beat_skips;

  tri_adder_tree #(
    .N      (NumPe),
    .InW    (1),
    .Signed (1'b0)
  ) u_add_count (
    .terms_i (lane_add),
    .sum_o   (beat_adds)
  );

  tri_adder_tree #(
    .N      (NumPe),
    .InW    (1),
    .Signed (1'b0)
  ) u_skip_count (
    .terms_i (lane_skip),
    .sum_o   (beat_skips)
  );

  /////////////////////////////////////
  // Stage 1: registered beat result //
  /////////////////////////////////////

  logic                 s1_vld_q, s1_vld_d;      // sum_q holds an accepted beat
  logic                 s1_last_q, s1_last_d;    // ... which was the last of its tile
  logic                 s1_cnt_q, s1_cnt_d;      // s1_adds_q/s1_skips_q are to be counted
  logic [Cols*SumW-1:0] sum_q, sum_d;            // column sums of the beat (datapath, no reset)
  logic [StatW-1:0]     s1_adds_q, s1_adds_d;    // beat's add count (datapath, no reset)
  logic [StatW-1:0]     s1_skips_q, s1_skips_d;  // beat's skip count (datapath, no reset)

  always_comb begin
    s1_vld_d   = accept;
    s1_last_d  = accept & a_last_i;
    // A beat accepted in a cnt_clear_i cycle is not counted (like its cnt_busy_o cycle).
    s1_cnt_d   = accept & ~cnt_clear_i;
    // Datapath registers only load on an accepted beat.
    sum_d      = accept ? col_sum    : sum_q;
    s1_adds_d  = accept ? beat_adds  : s1_adds_q;
    s1_skips_d = accept ? beat_skips : s1_skips_q;
  end

  ///////////////////////////////////////
  // Stage 2: accumulators and control //
  ///////////////////////////////////////

  // Internal vectors are flat like the ports (column c at [W*c +: W]) so that
  // Yosys 0.23, which rejects packed multi-dimensional arrays, can read the RTL.
  logic [Cols*AccW-1:0] acc_q, acc_d;
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
    if (clear_i || r_hs) begin
      // Result taken or tile dropped: the next tile starts from zero. A beat in
      // stage 1 during clear_i belongs to the dropped tile and is discarded.
      acc_d = '0;
    end else if (s1_vld_q) begin
      acc_d = acc_sum;
    end
  end

  always_comb begin
    // Result valid: set once the last beat has been accumulated.
    r_valid_d = r_valid_q;
    if (clear_i || r_hs) begin
      r_valid_d = 1'b0;
    end else if (s1_vld_q && s1_last_q) begin
      r_valid_d = 1'b1;
    end

    // Pending: from the cycle after the last beat is accepted until the result
    // handshake. A beat accepted in a clear_i cycle starts the new tile, so a
    // last beat accepted then makes a new result pending.
    pending_d = pending_q;
    if (clear_i || r_hs) begin
      pending_d = 1'b0;
    end
    if (accept && a_last_i) begin
      pending_d = 1'b1;
    end

    in_rdy_d = ~pending_d;
  end

  assign r_data_o = acc_q;
  assign acc_o    = acc_q;

  // Beats accepted so far in the current tile. Only feeds the beat-bound
  // assertion (synthesis removes it).
  logic [BeatW-1:0] beats_q, beats_d;
  logic [BeatW-1:0] beats_base;  // count before this cycle's beat, after clear_i

  always_comb begin
    beats_base = clear_i ? '0 : beats_q;
    beats_d    = beats_base;
    if (accept) begin
      beats_d = a_last_i ? '0 : beats_base + BeatW'(1);
    end
  end

  //////////////
  // Counters //
  //////////////

  logic        stall;
  logic [63:0] cnt_cycles_q, cnt_cycles_d;
  logic [63:0] cnt_busy_q, cnt_busy_d;
  logic [63:0] cnt_stall_q, cnt_stall_d;
  logic [63:0] cnt_adds_q, cnt_adds_d;
  logic [63:0] cnt_skips_q, cnt_skips_d;

  // A producer waits (valid without an accepted beat), or the result waits for the consumer.
  assign stall = ((w_valid_i | a_valid_i) & ~accept) | (r_valid_q & ~r_ready_i);

  always_comb begin
    if (cnt_clear_i) begin
      // The events of the cnt_clear_i cycle itself are not counted.
      cnt_cycles_d = '0;
      cnt_busy_d   = '0;
      cnt_stall_d  = '0;
      cnt_adds_d   = '0;
      cnt_skips_d  = '0;
    end else begin
      cnt_cycles_d = cnt_cycles_q + 64'd1;
      cnt_busy_d   = cnt_busy_q + 64'(accept);
      cnt_stall_d  = cnt_stall_q + 64'(stall);
      // Add/skip counts of a beat accepted in cycle T are added in T+1.
      cnt_adds_d   = cnt_adds_q  + (s1_cnt_q ? 64'(s1_adds_q)  : 64'd0);
      cnt_skips_d  = cnt_skips_q + (s1_cnt_q ? 64'(s1_skips_q) : 64'd0);
    end
  end

  assign cnt_cycles_o = cnt_cycles_q;
  assign cnt_busy_o   = cnt_busy_q;
  assign cnt_stall_o  = cnt_stall_q;
  assign cnt_adds_o   = cnt_adds_q;
  assign cnt_skips_o  = cnt_skips_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      in_rdy_q     <= 1'b0;
      pending_q    <= 1'b0;
      r_valid_q    <= 1'b0;
      s1_vld_q     <= 1'b0;
      s1_last_q    <= 1'b0;
      s1_cnt_q     <= 1'b0;
      acc_q        <= '0;
      beats_q      <= '0;
      cnt_cycles_q <= '0;
      cnt_busy_q   <= '0;
      cnt_stall_q  <= '0;
      cnt_adds_q   <= '0;
      cnt_skips_q  <= '0;
    end else begin
      in_rdy_q     <= in_rdy_d;
      pending_q    <= pending_d;
      r_valid_q    <= r_valid_d;
      s1_vld_q     <= s1_vld_d;
      s1_last_q    <= s1_last_d;
      s1_cnt_q     <= s1_cnt_d;
      acc_q        <= acc_d;
      beats_q      <= beats_d;
      cnt_cycles_q <= cnt_cycles_d;
      cnt_busy_q   <= cnt_busy_d;
      cnt_stall_q  <= cnt_stall_d;
      cnt_adds_q   <= cnt_adds_d;
      cnt_skips_q  <= cnt_skips_d;
    end
  end

  // Datapath registers: no reset, only read when s1_vld_q / s1_cnt_q say so.
  always_ff @(posedge clk_i) begin
    sum_q      <= sum_d;
    s1_adds_q  <= s1_adds_d;
    s1_skips_q <= s1_skips_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (Cols < 1 || Lanes < 1 || KMax < 1) begin : gen_param_check
    $error("int8_mac_array: Cols, Lanes and KMax must be >= 1");
  end
  if (KMax > (1 << 16)) begin : gen_kmax_check
    $error("int8_mac_array: KMax must be <= 2^16 (16384 * KMax must fit in 31 bits)");
  end

`ifndef SYNTHESIS
  // ---- Producer rules (assumptions on the inputs, checked as assertions) ----
  // Rule 4: a valid input, once high, stays high with stable data until the
  // beat is accepted (both streams advance together, so a stream whose partner
  // is not valid is not accepted either). A clear_i cycle releases the producers.
  WValidHold_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      w_valid_i && !accept && !clear_i |=> w_valid_i && $stable(w_data_i))
    else $error("%m: w_valid_i dropped or w_data_i changed before the beat was accepted");
  AValidHold_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      a_valid_i && !accept && !clear_i |=> a_valid_i && $stable(a_data_i) && $stable(a_last_i))
    else $error("%m: a_valid_i dropped or a_data_i/a_last_i changed before the beat was accepted");
  // Control inputs are never X; an accepted beat carries known data.
  KnownCtrlIn_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !$isunknown({w_valid_i, a_valid_i, r_ready_i, clear_i, cnt_clear_i}))
    else $error("%m: unknown control input");
  KnownBeat_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      accept |-> !$isunknown({w_data_i, a_data_i, a_last_i}))
    else $error("%m: accepted beat has unknown bits");
  // Rule 5: at most ceil(KMax / Lanes) beats per tile.
  TileBeats_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      accept |-> beats_base < BeatW'(MaxBeats))
    else $error("%m: more than ceil(KMax / Lanes) = %0d beats in one tile", MaxBeats);

  // ---- Array rules ----
  // Rule 3: the result stays valid and stable until taken (unless dropped by clear_i).
  RValidHold_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      r_valid_o && !r_ready_i && !clear_i |=> r_valid_o && $stable(r_data_o))
    else $error("%m: r_valid_o dropped or r_data_o changed before r_ready_i");
  // Rule 1: the two input readies are one signal, low while a result is pending.
  ReadyEqual_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      w_ready_o == a_ready_o)
    else $error("%m: w_ready_o != a_ready_o");
  NoReadyWithResult_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      r_valid_o |-> !w_ready_o && !s1_vld_q)
    else $error("%m: input ready or a beat in flight while a result is valid");
  // The result rises only after its last beat was accumulated in the previous cycle.
  RValidRise_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      r_valid_o && !$past(r_valid_o) |-> $past(s1_vld_q && s1_last_q && !clear_i))
    else $error("%m: r_valid_o rose without a last beat having been accumulated");
  KnownCtrlOut_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      !$isunknown({w_ready_o, a_ready_o, r_valid_o}))
    else $error("%m: unknown control output");
  KnownResult_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
      r_valid_o |-> !$isunknown(r_data_o))
    else $error("%m: r_data_o has unknown bits while r_valid_o");

  // No accumulator overflow (backs up TileBeats_A: also catches a tile whose
  // nonzero lanes exceed KMax, possible when Lanes does not divide KMax).
  for (genvar c = 0; c < Cols; c++) begin : gen_acc_assert
    logic [AccW-1:0] acc_c, sum_ext_c;
    logic [AccW:0]   acc_wide;  // acc_q + sum_ext with one bit of headroom

    assign acc_c     = acc_q[AccW*c +: AccW];
    assign sum_ext_c = sum_ext[AccW*c +: AccW];
    assign acc_wide  = {acc_c[AccW-1], acc_c} + {sum_ext_c[AccW-1], sum_ext_c};

    AccNoOverflow_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
        s1_vld_q && !clear_i |-> acc_wide[AccW] == acc_wide[AccW-1])
      else $error("%m: accumulator of column %0d overflows", c);

    if (SumW > AccW) begin : gen_trunc_assert
      SumFits_A: assert property (@(posedge clk_i) disable iff (!rst_ni)
          s1_vld_q |-> gen_acc[c].sum_c[SumW-1:AccW-1] == '0 ||
                      gen_acc[c].sum_c[SumW-1:AccW-1] == '1)
        else $error("%m: column %0d beat sum does not fit AccW", c);
    end
  end
`endif

endmodule
