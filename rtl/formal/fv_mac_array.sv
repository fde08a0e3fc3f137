// Copyright tritium contributors.
//
// fv_mac_array: tri_mac_array end to end against a multiply-based reference.
// The inputs are free, constrained only by the array's own producer rules
// (the TRI_ASSUME properties of tri_mac_array and mac_array_ctrl: valid and
// data held until the joint accept, at most ceil(KMax / Lanes) beats per
// tile, no invalid code). Proven:
//   * every result equals sum over the tile's accepted beats of t * a per
//     column (no beat lost, duplicated or taken from another tile; results
//     in order), with clear_i dropping a tile as rtl/INTERFACE.md says;
//   * a result is only valid for a tile whose last beat was accepted;
//   * the five counters count exactly (cycles, accepted beats, stalls, and
//     the added and skipped lanes of accepted beats; cnt_clear_i as
//     specified);
//   * every named assertion of the array and of its parts.

module fv_mac_array #(
  parameter int unsigned Cols  = 2,
  parameter int unsigned Lanes = 2,
  parameter int unsigned KMax  = 6,
  localparam int unsigned AccW = $clog2(128 * KMax + 1) + 1
) (
  input logic                                 clk_i,
  input logic                                 rst_ni,
  input logic                                 clear_i,
  input logic                                 cnt_clear_i,
  input logic                                 w_valid_i,
  input logic [Cols*Lanes*tri_pkg::CodeW-1:0] w_data_i,
  input logic                                 a_valid_i,
  input logic [Lanes*tri_pkg::ActW-1:0]       a_data_i,
  input logic                                 a_last_i,
  input logic                                 r_ready_i
);
  logic w_ready, a_ready, r_valid, err_code;
  logic [Cols*AccW-1:0] r_data, acc;
  logic [63:0] cnt_cycles, cnt_busy, cnt_stall, cnt_adds, cnt_skips;

  tri_mac_array #(
    .Cols  (Cols),
    .Lanes (Lanes),
    .KMax  (KMax)
  ) dut (
    .clk_i        (clk_i),
    .rst_ni       (rst_ni),
    .clear_i      (clear_i),
    .cnt_clear_i  (cnt_clear_i),
    .w_valid_i    (w_valid_i),
    .w_ready_o    (w_ready),
    .w_data_i     (w_data_i),
    .a_valid_i    (a_valid_i),
    .a_ready_o    (a_ready),
    .a_data_i     (a_data_i),
    .a_last_i     (a_last_i),
    .r_valid_o    (r_valid),
    .r_ready_i    (r_ready_i),
    .r_data_o     (r_data),
    .acc_o        (acc),
    .cnt_cycles_o (cnt_cycles),
    .cnt_busy_o   (cnt_busy),
    .cnt_stall_o  (cnt_stall),
    .cnt_adds_o   (cnt_adds),
    .cnt_skips_o  (cnt_skips),
    .err_code_o   (err_code)
  );

  initial assume (!rst_ni);

  logic accept, r_hs;
  assign accept = w_valid_i && a_valid_i && w_ready;
  assign r_hs   = r_valid && r_ready_i;

  // The reference: t * a with a multiplier, per column, for this beat.
  logic signed [31:0] beat_sum [Cols];
  logic [31:0] beat_adds, beat_skips;
  always @* begin
    beat_adds  = '0;
    beat_skips = '0;
    for (int c = 0; c < Cols; c++) begin
      beat_sum[c] = '0;
      for (int l = 0; l < Lanes; l++) begin
        case (w_data_i[2*(c*Lanes + l) +: 2])
          tri_pkg::CodeNeg: begin
            beat_sum[c] = beat_sum[c] - 32'($signed(a_data_i[8*l +: 8]));
            beat_adds   = beat_adds + 1;
          end
          tri_pkg::CodePos: begin
            beat_sum[c] = beat_sum[c] + 32'($signed(a_data_i[8*l +: 8]));
            beat_adds   = beat_adds + 1;
          end
          default: beat_skips = beat_skips + 1;
        endcase
      end
    end
  end

  logic signed [31:0] tile_q [Cols];  // the open tile's accepted beats
  logic signed [31:0] res_q  [Cols];  // the last completed tile
  logic               done_q;         // a completed tile whose result is not yet taken
  logic [63:0]        cycles_q, busy_q, stall_q, adds_q, skips_q;
  // The add/skip counts of a beat are added the cycle after its accept (the
  // array's stage 1), and not at all if accepted in a cnt_clear_i cycle.
  logic               s1_cnt_q;
  logic [31:0]        s1_adds_q, s1_skips_q;

  always_ff @(posedge clk_i or negedge rst_ni) begin
    if (!rst_ni) begin
      for (int c = 0; c < Cols; c++) begin
        tile_q[c] <= '0;
        res_q[c]  <= '0;
      end
      done_q     <= 1'b0;
      cycles_q   <= '0;
      busy_q     <= '0;
      stall_q    <= '0;
      adds_q     <= '0;
      skips_q    <= '0;
      s1_cnt_q   <= 1'b0;
      s1_adds_q  <= '0;
      s1_skips_q <= '0;
    end else begin
      for (int c = 0; c < Cols; c++) begin
        if (accept && a_last_i) begin
          res_q[c]  <= (clear_i ? 32'sd0 : tile_q[c]) + beat_sum[c];
          tile_q[c] <= '0;
        end else if (accept) begin
          tile_q[c] <= (clear_i ? 32'sd0 : tile_q[c]) + beat_sum[c];
        end else if (clear_i) begin
          tile_q[c] <= '0;
        end
      end
      if (accept && a_last_i) begin
        done_q <= 1'b1;
      end else if (clear_i || r_hs) begin
        done_q <= 1'b0;
      end
      cycles_q   <= cnt_clear_i ? '0 : cycles_q + 64'd1;
      busy_q     <= cnt_clear_i ? '0 : busy_q + 64'(accept);
      stall_q    <= cnt_clear_i ? '0 : stall_q + 64'(((w_valid_i || a_valid_i) && !accept) ||
                                                     (r_valid && !r_ready_i));
      adds_q     <= cnt_clear_i ? '0 : adds_q + (s1_cnt_q ? 64'(s1_adds_q) : '0);
      skips_q    <= cnt_clear_i ? '0 : skips_q + (s1_cnt_q ? 64'(s1_skips_q) : '0);
      s1_cnt_q   <= accept && !cnt_clear_i;
      s1_adds_q  <= beat_adds;
      s1_skips_q <= beat_skips;
    end
  end

  // Columns whose result differs from the reference (one named property
  // over all columns: Yosys names a property in a loop once).
  logic [Cols-1:0] res_bad;
  always @* begin
    for (int c = 0; c < Cols; c++) begin
      res_bad[c] = $signed(r_data[AccW*c +: AccW]) != res_q[c];
    end
  end

  always @(posedge clk_i) begin
    if (rst_ni) begin
      ResultOnlyForTile_A: assert (!r_valid || done_q);
      ResultEqualsRef_A: assert (!r_valid || res_bad == '0);
      CntCycles_A: assert (cnt_cycles == cycles_q);
      CntBusy_A: assert (cnt_busy == busy_q);
      CntStall_A: assert (cnt_stall == stall_q);
      CntAdds_A: assert (cnt_adds == adds_q);
      CntSkips_A: assert (cnt_skips == skips_q);
      NoErrCode_A: assert (!err_code);
    end
  end
endmodule
