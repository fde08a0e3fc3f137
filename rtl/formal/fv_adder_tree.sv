// Copyright tritium contributors.
//
// fv_adder_tree: a column's adder tree equals the sum of its lanes' terms,
// for every input (N terms of InW bits, two's complement; the sum is exact
// in InW + clog2(N) bits). Combinational.

module fv_adder_tree #(
  parameter int unsigned N   = 32,
  parameter int unsigned InW = tri_pkg::TermW
) (
  input logic [N*InW-1:0] terms_i
);
  localparam int unsigned OutW = InW + $clog2(N);
  logic [OutW-1:0] sum;

  tri_adder_tree #(
    .N      (N),
    .InW    (InW),
    .Signed (1'b1)
  ) dut (
    .terms_i (terms_i),
    .sum_o   (sum)
  );

  // The reference adds in 40-bit integers, pairing the terms level by level
  // as a balanced tree does ((t0 + t1) + (t2 + t3), ...; an odd term passes
  // to the next level). Integer addition does not care about the order; a
  // SAT solver does: a sequential reference takes it hours at N = 32. The
  // RTL's node widths, sign extension, pairing and pass-through are what
  // the proof checks, against sums that cannot overflow.
  logic signed [39:0] nodes [N];
  logic signed [39:0] ref_sum;
  always @* begin
    for (int i = 0; i < N; i++) begin
      nodes[i] = 40'($signed(terms_i[InW*i +: InW]));
    end
    for (int cnt = N; cnt > 1; cnt = (cnt + 1) / 2) begin
      for (int i = 0; i < (cnt + 1) / 2; i++) begin
        nodes[i] = (2*i + 1 < cnt) ? nodes[2*i] + nodes[2*i + 1] : nodes[2*i];
      end
    end
    ref_sum = nodes[0];
    TreeSum_A: assert (40'($signed(sum)) == ref_sum);
  end
endmodule
