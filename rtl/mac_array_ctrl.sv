// Copyright tritium contributors.
//
// mac_array_ctrl: the control shared by tri_mac_array and int8_mac_array
// (contract: rtl/INTERFACE.md). Both arrays instantiate it, so their
// handshakes, pipeline timing, tile rules, counters and protocol assertions
// are the same by construction; only their datapaths (PEs, term and
// accumulator widths) differ.
//
// What lives here:
//
//   * the stream handshakes: accept (w_valid_i & a_valid_i & ready), the
//     pending flag and the input ready (w_ready_o == a_ready_o), r_valid_o;
//   * the stage-1 control flags of the beat registered at the end of its
//     accept cycle (s1_vld, s1_last, s1_cnt) and the beat's add/skip counts
//     (popcounts of the datapath's per-lane flags);
//   * the five 64-bit counters;
//   * the beat counter of the tile (only read by TileBeats_A);
//   * every protocol assertion of the array ports. The payloads (w_data_i,
//     a_data_i, r_data_i) are inputs here only for those assertions; no
//     logic reads them.
//
// What is elsewhere: the column adder trees, stage-1 column sums,
// accumulators and their assertions are mac_array_acc, which both arrays
// instantiate as well; the arrays hold their PEs and (tri_mac_array only) the
// sticky invalid-code flag err_code_o with NoInvalidCode_A.
//
// What the datapath (mac_array_acc, fed by the arrays) does with the outputs:
//
//   accept_o   : load the stage-1 registers (column sums) with this cycle's beat;
//   s1_vld_o   : stage 1 holds an accepted beat: add it to the accumulators;
//   acc_clr_o  : clear_i or the result handshake: accumulators to zero (this
//                wins over s1_vld_o: a beat in stage 1 during clear_i belongs to
//                the dropped tile).
//
// Timing (see tri_mac_array.sv for the whole pipeline): a beat accepted in
// cycle T is in stage 1 (s1_vld_o) in T+1; if it was the last of its tile,
// r_valid_o is high from T+2 and the input ready is low from T+1 until the
// cycle after the result handshake, so a tile of B beats takes B + 2 cycles.

module mac_array_ctrl #(
  parameter int unsigned Cols   = 4,     // columns of the array
  parameter int unsigned Lanes  = 8,     // lanes (activations) per beat
  parameter int unsigned KMax   = 8192,  // largest K: at most ceil(KMax / Lanes) beats per tile
  parameter int unsigned WDataW = 64,    // width of w_data_i (only read by assertions)
  parameter int unsigned ADataW = 64,    // width of a_data_i (only read by assertions)
  parameter int unsigned RDataW = 88,    // width of r_data_i (only read by assertions)
  localparam int unsigned NumPe = Cols * Lanes
) (
  input  logic              clk_i,
  input  logic              rst_ni,

  input  logic              clear_i,
  input  logic              cnt_clear_i,

  // Handshakes of the array's three streams: the valids (and a_last_i), then
  // the readies.
  input  logic              w_valid_i,
  input  logic              a_valid_i,
  input  logic              a_last_i,
  output logic              r_valid_o,
  output logic              w_ready_o,
  output logic              a_ready_o,
  input  logic              r_ready_i,

  // Payloads of the array ports: only the assertions read them.
  input  logic [WDataW-1:0] w_data_i,
  input  logic [ADataW-1:0] a_data_i,
  input  logic [RDataW-1:0] r_data_i,   // the array's r_data_o

  // Datapath control.
  output logic              accept_o,   // a beat is accepted this cycle
  output logic              s1_vld_o,   // stage 1 holds an accepted beat
  output logic              acc_clr_o,  // zero the accumulators (clear_i or result handshake)

  // Per-lane flags of this cycle's beat (index c*Lanes + l), from the datapath.
  input  logic [NumPe-1:0]  lane_add_i,   // lane computes (add / multiply-add; counted in cnt_adds_o)
  input  logic [NumPe-1:0]  lane_skip_i,  // lane skipped (counted in cnt_skips_o)

  // Statistics.
  output logic [63:0]       cnt_cycles_o,
  output logic [63:0]       cnt_busy_o,
  output logic [63:0]       cnt_stall_o,
  output logic [63:0]       cnt_adds_o,
  output logic [63:0]       cnt_skips_o
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  // Most beats a tile may have, and the width of the per-tile beat counter.
  localparam int unsigned MaxBeats = (KMax + Lanes - 1) / Lanes;
  localparam int unsigned BeatW    = $clog2(MaxBeats + 1);
  // Width of a per-beat popcount of the NumPe lane flags.
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

  assign accept_o  = accept;
  assign acc_clr_o = clear_i || r_hs;

  //////////////////////////////
  // Per-beat lane statistics //
  //////////////////////////////

  // Popcounts of the lane flags over all columns.
  logic [StatW-1:0] beat_adds, beat_skips;

  tri_adder_tree #(
    .N      (NumPe),
    .InW    (1),
    .Signed (1'b0)
  ) u_add_count (
    .terms_i (lane_add_i),
    .sum_o   (beat_adds)
  );

  tri_adder_tree #(
    .N      (NumPe),
    .InW    (1),
    .Signed (1'b0)
  ) u_skip_count (
    .terms_i (lane_skip_i),
    .sum_o   (beat_skips)
  );

  ///////////////////////////////////////
  // Stage 1: registered beat controls //
  ///////////////////////////////////////

  logic             s1_vld_q, s1_vld_d;      // the datapath's stage 1 holds an accepted beat
  logic             s1_last_q, s1_last_d;    // ... which was the last of its tile
  logic             s1_cnt_q, s1_cnt_d;      // s1_adds_q/s1_skips_q are to be counted
  logic [StatW-1:0] s1_adds_q, s1_adds_d;    // beat's add count (datapath, no reset)
  logic [StatW-1:0] s1_skips_q, s1_skips_d;  // beat's skip count (datapath, no reset)

  always_comb begin
    s1_vld_d   = accept;
    s1_last_d  = accept & a_last_i;
    // A beat accepted in a cnt_clear_i cycle is not counted (like its cnt_busy_o cycle).
    s1_cnt_d   = accept & ~cnt_clear_i;
    // Datapath registers only load on an accepted beat.
    s1_adds_d  = accept ? beat_adds  : s1_adds_q;
    s1_skips_d = accept ? beat_skips : s1_skips_q;
  end

  assign s1_vld_o = s1_vld_q;

  /////////////////////////////
  // Stage 2: result control //
  /////////////////////////////

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
      beats_q      <= beats_d;
      cnt_cycles_q <= cnt_cycles_d;
      cnt_busy_q   <= cnt_busy_d;
      cnt_stall_q  <= cnt_stall_d;
      cnt_adds_q   <= cnt_adds_d;
      cnt_skips_q  <= cnt_skips_d;
    end
  end

  // Statistics registers: no reset, only read when s1_cnt_q says so.
  always_ff @(posedge clk_i) begin
    s1_adds_q  <= s1_adds_d;
    s1_skips_q <= s1_skips_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (Cols < 1 || Lanes < 1 || KMax < 1) begin : gen_param_check
    $error("mac_array_ctrl: Cols, Lanes and KMax must be >= 1");
  end

`ifndef SYNTHESIS
  // ---- Producer rules (assumptions on the inputs, checked as assertions) ----
  // Rule 4: a valid input, once high, stays high with stable data until the
  // beat is accepted (both streams advance together, so a stream whose partner
  // is not valid is not accepted either). A clear_i cycle releases the producers.
  `TRI_ASSUME_NEXT(WValidHold_A, w_valid_i && !accept && !clear_i,
      w_valid_i && $stable(w_data_i),
      ("%m: w_valid_i dropped or w_data_i changed before the beat was accepted"))
  `TRI_ASSUME_NEXT(AValidHold_A, a_valid_i && !accept && !clear_i,
      a_valid_i && $stable(a_data_i) && $stable(a_last_i),
      ("%m: a_valid_i dropped or a_data_i/a_last_i changed before the beat was accepted"))
  // Control inputs are never X; an accepted beat carries known data.
  `TRI_ASSERT_KNOWN(KnownCtrlIn_A, {w_valid_i, a_valid_i, r_ready_i, clear_i, cnt_clear_i},
      ("%m: unknown control input"))
  `TRI_ASSERT_KNOWN_IF(KnownBeat_A, accept,
      {w_data_i, a_data_i, a_last_i},
      ("%m: accepted beat has unknown bits"))
  // Rule 5: at most ceil(KMax / Lanes) beats per tile.
  `TRI_ASSUME_IMP(TileBeats_A, accept,
      beats_base < BeatW'(MaxBeats),
      ("%m: more than ceil(KMax / Lanes) = %0d beats in one tile", MaxBeats))

  // ---- Array rules ----
  // Rule 3: the result stays valid and stable until taken (unless dropped by clear_i).
  `TRI_ASSERT_NEXT(RValidHold_A, r_valid_o && !r_ready_i && !clear_i,
      r_valid_o && $stable(r_data_i),
      ("%m: r_valid_o dropped or r_data_o changed before r_ready_i"))
  // Rule 1: the two input readies are one signal, low while a result is pending.
  `TRI_ASSERT(ReadyEqual_A, w_ready_o == a_ready_o,
      ("%m: w_ready_o != a_ready_o"))
  `TRI_ASSERT_IMP(NoReadyWithResult_A, r_valid_o,
      !w_ready_o && !s1_vld_q,
      ("%m: input ready or a beat in flight while a result is valid"))
  // The result rises only after its last beat was accumulated in the previous cycle.
  `TRI_ASSERT_IMP(RValidRise_A, r_valid_o && !$past(r_valid_o),
      $past(s1_vld_q && s1_last_q && !clear_i),
      ("%m: r_valid_o rose without a last beat having been accumulated"))
  `TRI_ASSERT_KNOWN(KnownCtrlOut_A, {w_ready_o, a_ready_o, r_valid_o},
      ("%m: unknown control output"))
  `TRI_ASSERT_KNOWN_IF(KnownResult_A, r_valid_o,
      r_data_i,
      ("%m: r_data_o has unknown bits while r_valid_o"))

  // ---- Cover points (`make coverage` requires every one to be hit) ----
  // Input backpressure: a producer waits while a result is pending; one
  // stream valid without its partner (no beat).
  `TRI_COVER(WBackpressure_C, w_valid_i && !w_ready_o)
  `TRI_COVER(ABackpressure_C, a_valid_i && !a_ready_o)
  `TRI_COVER(WWithoutA_C, w_valid_i && !a_valid_i && in_rdy_q)
  `TRI_COVER(AWithoutW_C, a_valid_i && !w_valid_i && in_rdy_q)
  // Result backpressure.
  `TRI_COVER(RBackpressure_C, r_valid_o && !r_ready_i)
  // Tile boundaries: a one-beat tile, the last beat of a longer tile, a tile
  // of the most beats KMax allows, a tile starting right after the result
  // handshake of the one before.
  `TRI_COVER(SingleBeatTile_C, accept && a_last_i && beats_base == '0)
  `TRI_COVER(LastOfSeveralBeats_C, accept && a_last_i && beats_base != '0)
  `TRI_COVER(MaxBeatsTile_C, accept && a_last_i && beats_base == BeatW'(MaxBeats - 1))
  `TRI_COVER(BackToBackTile_C, accept && $past(r_hs))
  // clear_i dropping a tile in flight and a pending result; cnt_clear_i,
  // also in the cycle of an accepted beat (which is then not counted).
  `TRI_COVER(ClearMidTile_C, clear_i && beats_q != '0)
  `TRI_COVER(ClearPendingResult_C, clear_i && pending_q)
  `TRI_COVER(CntClearWithBeat_C, cnt_clear_i && accept)
`endif

endmodule
