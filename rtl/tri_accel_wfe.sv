// Copyright tritium contributors.
//
// tri_accel_wfe: the weight front end of tri_accel (contract: rtl/INTERFACE.md,
// "tri_accel"). From the weight read port to one registered, decoded word:
//
//   w_* port -> u_fifo (tri_fifo, 2 beats, registered ready)
//            -> word assembly (integral ratio of word and bus bytes)
//            -> u_dec (tri_wdec: 2-bit wiring or base-3 tri_dec_base3)
//            -> dec_q: the decoded word (Cols*Lanes codes) with dec_valid_q
//
// Word assembly (one of, chosen at elaboration):
//
//   gen_ser  (BusBytes >= WordBytes, M = BusBytes / WordBytes words per beat):
//            word sub_q of the FIFO's head beat is offered; taking it advances
//            sub_q; the beat is popped after its last word, or after the last
//            word of the run (the rest of the run's final beat is padding and
//            is dropped). M = 1 is the plain case (one word = one beat).
//   gen_deser (WordBytes > BusBytes, P = WordBytes / BusBytes beats per word):
//            the first P-1 beats of a word are shifted into asm_q as they
//            arrive (also before the run's command: prefetch); the word is
//            offered when its P-th beat is at the head of the FIFO.
//
// The front end counts the words of the run it is fetching (fe_*), which it
// needs to find the run's last word (padding, w_last check). It starts a run
// with start_i (a valid command accepted by the top this cycle), taking the
// run's sizes from the command inputs in that same cycle, so the first word
// of a run moves into dec_q in the command cycle if it is ready (no gap
// between runs). It finishes the run when it has taken the run's last word
// into dec_q, i.e. before the issue side finishes (which holds the last word
// for `tokens` issues): the next command can always start it again.
//
// dec_q is loaded whenever it is empty or dropped this cycle (consume_i: the
// issue side issued its last token): one word per cycle, no bubble between
// words, tiles or runs.
//
// w_last_i check (last_err_o, one-cycle pulse; the top keeps err_last_o):
// the beat holding the end of a run's last word must carry w_last_i, and no
// other beat may. Serializer: checked when a beat is popped; deserializer:
// when a word is taken (all P beats of it).
//
// All `*` and `/` are elaboration-time arithmetic on parameters and genvars.

module tri_accel_wfe #(
  parameter int unsigned Cols      = 4,
  parameter int unsigned Lanes     = 8,
  parameter int unsigned Format    = 0,
  parameter int unsigned BusBytes  = 8,
  parameter int unsigned WordBytes = 8,
  parameter int unsigned BeatW     = 8,  // width of a beat index (0 .. KBMax-1)
  localparam int unsigned NumPe = Cols * Lanes,
  localparam int unsigned CodeW = tri_pkg::CodeW
) (
  input  logic                    clk_i,
  input  logic                    rst_ni,

  // Weight read port.
  input  logic                    w_valid_i,
  output logic                    w_ready_o,
  input  logic [BusBytes*8-1:0]   w_data_i,
  input  logic                    w_last_i,

  // Run start (a valid command accepted this cycle) and its sizes as
  // last indices: tiles - 1 and beats - 1.
  input  logic                    start_i,
  input  logic [31:0]             last_tile_i,
  input  logic [BeatW-1:0]        last_beat_i,

  // Decoded word, held until consumed.
  output logic                    dec_valid_o,
  output logic [NumPe*CodeW-1:0]  dec_codes_o,
  input  logic                    consume_i,    // drop dec_q this cycle (issue side)

  output logic                    active_o,     // fetching a run (words still to take)
  output logic                    last_err_o    // w_last_i on the wrong beat (pulse)
);

  ///////////////////////
  // Derived constants //
  ///////////////////////

  localparam int unsigned BusW  = BusBytes * 8;
  localparam int unsigned WordW = WordBytes * 8;
  // Words per beat (serializer) and beats per word (deserializer); one is 1.
  localparam int unsigned M     = (BusBytes >= WordBytes) ? BusBytes / WordBytes : 1;
  localparam int unsigned P     = (WordBytes > BusBytes) ? WordBytes / BusBytes : 1;

  ////////////////
  // Input FIFO //
  ////////////////

  logic            fifo_rvalid, fifo_pop;
  logic [BusW-1:0] head_data;
  logic            head_last;
  logic [1:0]      unused_fifo_count;  // only the handshake matters here

  tri_fifo #(
    .Width (BusW + 1),
    .Depth (2)
  ) u_fifo (
    .clk_i    (clk_i),
    .rst_ni   (rst_ni),
    .wvalid_i (w_valid_i),
    .wready_o (w_ready_o),
    .wdata_i  ({w_last_i, w_data_i}),
    .rvalid_o (fifo_rvalid),
    .rready_i (fifo_pop),
    .rdata_o  ({head_last, head_data}),
    .count_o  (unused_fifo_count)
  );

  ////////////////////////////
  // Run counters (fe_*)    //
  ////////////////////////////

  logic             active_q, active_d;
  logic [31:0]      last_tile_q, last_tile_d;  // tiles - 1 of the run being fetched
  logic [BeatW-1:0] last_beat_q, last_beat_d;  // beats - 1
  logic [31:0]      tile_q, tile_d;            // tile of the next word to take
  logic [BeatW-1:0] beat_q, beat_d;            // beat of the next word to take

  logic             run_on;     // a run to fetch this cycle (started now or before)
  logic [31:0]      cur_last_tile;
  logic [BeatW-1:0] cur_last_beat;
  logic             tile_end;   // the next word is the last beat of its tile
  logic             word_last;  // the next word is the run's last
  logic             asm_valid;  // a complete word is offered by the assembly
  logic [WordW-1:0] asm_word;
  logic             dec_free;   // dec_q can be loaded this cycle
  logic             take;       // the offered word moves into dec_q

  // The sizes of a run starting this cycle come straight from the command.
  assign run_on        = active_q | start_i;
  assign cur_last_tile = active_q ? last_tile_q : last_tile_i;
  assign cur_last_beat = active_q ? last_beat_q : last_beat_i;
  assign tile_end      = (beat_q == cur_last_beat);
  assign word_last     = tile_end & (tile_q == cur_last_tile);

  logic dec_valid_q, dec_valid_d;
  assign dec_free = ~dec_valid_q | consume_i;
  assign take     = run_on & asm_valid & dec_free;

  always_comb begin
    active_d    = active_q;
    last_tile_d = last_tile_q;
    last_beat_d = last_beat_q;
    tile_d      = tile_q;
    beat_d      = beat_q;
    if (start_i) begin
      active_d    = 1'b1;
      last_tile_d = last_tile_i;
      last_beat_d = last_beat_i;
    end
    if (take) begin
      if (word_last) begin
        // Run fetched: counters back to zero for the next run.
        active_d = 1'b0;
        tile_d   = '0;
        beat_d   = '0;
      end else if (tile_end) begin
        tile_d = tile_q + 32'd1;
        beat_d = '0;
      end else begin
        beat_d = beat_q + BeatW'(1);
      end
    end
  end

  assign active_o = active_q;

  ///////////////////
  // Word assembly //
  ///////////////////

  if (P == 1) begin : gen_ser
    // M words per beat; word s of the head beat at [WordW*s +: WordW].
    localparam int unsigned SubW = (M > 1) ? $clog2(M) : 1;
    logic [SubW-1:0] sub_q, sub_d;
    logic            beat_done;  // the offered word is the head beat's last (or the run's)

    assign asm_valid = fifo_rvalid;

    always_comb begin
      asm_word = head_data[WordW-1:0];
      for (int unsigned s = 1; s < M; s++) begin
        // WordW * s: elaboration-time constant per unrolled iteration.
        if (sub_q == SubW'(s)) asm_word = head_data[WordW*s +: WordW];
      end
    end

    assign beat_done  = (sub_q == SubW'(M - 1)) | word_last;
    assign fifo_pop   = take & beat_done;
    assign sub_d      = fifo_pop ? '0 : (take ? sub_q + SubW'(1) : sub_q);
    // The popped beat carries w_last_i iff the run ends in it.
    assign last_err_o = fifo_pop & (head_last != word_last);

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        sub_q <= '0;
      end else begin
        sub_q <= sub_d;
      end
    end

    if (BusW > M * WordW) begin : gen_unused
      logic unused_tail;  // cannot happen (M * WordBytes == BusBytes); kept for lint
      assign unused_tail = ^head_data[BusW-1:M*WordW];
    end

`ifndef SYNTHESIS
    if (M > 1) begin : gen_cov
      // Cover points: a later word of a beat; a run ending inside a beat
      // (the rest of the beat is padding and is dropped).
      `TRI_COVER(SubWord_C, take && sub_q != '0)
      `TRI_COVER(PadDropped_C, fifo_pop && word_last && sub_q != SubW'(M - 1))
    end
`endif
  end else begin : gen_deser
    // P beats per word: beats 0 .. P-2 in asm_q (beat 0 lowest), beat P-1 at
    // the FIFO head.
    localparam int unsigned AsmW = (P - 1) * BusW;
    localparam int unsigned CntW = $clog2(P);
    logic [AsmW-1:0] asm_q, asm_d;        // datapath, no reset
    logic [CntW-1:0] cnt_q, cnt_d;        // beats collected (0 .. P-1)
    logic            seen_last_q, seen_last_d;  // a collected beat carried w_last_i
    logic            collect;
    logic [AsmW-1:0] asm_shift;            // asm_q with the head beat shifted in

    // Shift in from the top: after P-1 beats, beat 0 is at the bottom.
    if (P > 2) begin : gen_shift
      assign asm_shift = {head_data, asm_q[AsmW-1:BusW]};
    end else begin : gen_one
      assign asm_shift = head_data;
    end

    assign collect   = fifo_rvalid & (cnt_q != CntW'(P - 1));
    assign asm_valid = fifo_rvalid & (cnt_q == CntW'(P - 1));
    assign asm_word  = {head_data, asm_q};
    assign fifo_pop  = collect | take;

    always_comb begin
      asm_d       = asm_q;
      cnt_d       = cnt_q;
      seen_last_d = seen_last_q;
      if (collect) begin
        asm_d       = asm_shift;
        cnt_d       = cnt_q + CntW'(1);
        seen_last_d = seen_last_q | head_last;
      end
      if (take) begin
        cnt_d       = '0;
        seen_last_d = 1'b0;
      end
    end

    // Only the word's final beat may carry w_last_i, and only for the run's last word.
    assign last_err_o = take & (seen_last_q | (head_last != word_last));

    always_ff @(posedge clk_i or negedge rst_ni) begin
      if (!rst_ni) begin
        cnt_q       <= '0;
        seen_last_q <= 1'b0;
      end else begin
        cnt_q       <= cnt_d;
        seen_last_q <= seen_last_d;
      end
    end

    always_ff @(posedge clk_i) begin
      asm_q <= asm_d;
    end

`ifndef SYNTHESIS
    // Cover point: beats of a word collected before its run's command
    // (prefetch).
    `TRI_COVER(Prefetch_C, collect && !run_on)
`endif
  end

  //////////////////////////////
  // Decoder and decoded word //
  //////////////////////////////

  logic [NumPe*CodeW-1:0] codes;
  logic [NumPe*CodeW-1:0] dec_codes_q, dec_codes_d;  // datapath, no reset

  tri_wdec #(
    .Cols      (Cols),
    .Lanes     (Lanes),
    .Format    (Format),
    .WordBytes (WordBytes)
  ) u_dec (
    .word_i  (asm_word),
    .codes_o (codes)
  );

  assign dec_valid_d = take | (dec_valid_q & ~consume_i);
  assign dec_codes_d = take ? codes : dec_codes_q;
  assign dec_valid_o = dec_valid_q;
  assign dec_codes_o = dec_codes_q;

  ///////////////
  // Registers //
  ///////////////

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      active_q    <= 1'b0;
      last_tile_q <= '0;
      last_beat_q <= '0;
      tile_q      <= '0;
      beat_q      <= '0;
      dec_valid_q <= 1'b0;
    end else begin
      active_q    <= active_d;
      last_tile_q <= last_tile_d;
      last_beat_q <= last_beat_d;
      tile_q      <= tile_d;
      beat_q      <= beat_d;
      dec_valid_q <= dec_valid_d;
    end
  end

  always_ff @(posedge clk_i) begin
    dec_codes_q <= dec_codes_d;
  end

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time: one of word and bus bytes divides the other.
  if (BusBytes < 1 || WordBytes < 1 ||
      (BusBytes % WordBytes != 0 && WordBytes % BusBytes != 0)) begin : gen_ratio_check
    $error("tri_accel_wfe: one of WordBytes and BusBytes must divide the other");
  end

`ifndef SYNTHESIS
  // A run starts only when the previous one has been fetched completely.
  `TRI_ASSUME_IMP(StartIdle_A, start_i,
      !active_q,
      ("%m: run started while the previous run is still being fetched"))
  // The issue side only drops a word that is there.
  `TRI_ASSUME_IMP(ConsumeValid_A, consume_i,
      dec_valid_q,
      ("%m: decoded word consumed while none is held"))
  // The counters stay inside the run.
  `TRI_ASSERT_IMP(CountersInRun_A, active_q,
      beat_q <= last_beat_q && tile_q <= last_tile_q,
      ("%m: front-end counters left the run"))
  `TRI_ASSERT_IMP(IdleCountersZero_A, !active_q,
      beat_q == '0 && tile_q == '0,
      ("%m: front-end counters not zero between runs"))
  `TRI_ASSERT_KNOWN_IF(KnownDec_A, dec_valid_q,
      dec_codes_q,
      ("%m: decoded word has unknown bits"))

  // ---- Cover points (`make coverage` requires every one to be hit) ----
  // Weight-port backpressure (the 2-beat FIFO full); a memory stall (the
  // decoded word is wanted, no word is assembled); a run's first word taken
  // in its command cycle (no gap between runs); a misplaced w_last_i.
  `TRI_COVER(WBackpressure_C, w_valid_i && !w_ready_o)
  `TRI_COVER(MemStall_C, run_on && dec_free && !asm_valid)
  `TRI_COVER(TakeAtStart_C, take && start_i)
  `TRI_COVER(LastErr_C, last_err_o)
  // An invalid weight in a taken word: a byte > 242 (base-3; all five codes
  // are 3) or a code 3 (2-bit).
  logic any_inv;
  always_comb begin
    any_inv = 1'b0;
    for (int unsigned i = 0; i < NumPe; i++) begin
      if (codes[CodeW*i +: CodeW] == tri_pkg::CodeInv) begin
        any_inv = 1'b1;
      end
    end
  end
  `TRI_COVER(InvalidWeight_C, take && any_inv)
  // The serializer's and the deserializer's own cover points are at the
  // end of gen_ser and gen_deser.
`endif

endmodule
