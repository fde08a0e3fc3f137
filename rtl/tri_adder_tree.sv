// Copyright tritium contributors.
//
// tri_adder_tree: combinational, width-growing binary adder tree over N terms.
//
// Used for the per-column lane sum (signed InW = 9-bit terms) and for the
// per-beat add/skip counts (unsigned 1-bit flags, i.e. a popcount).
//
// Structure (N need not be a power of two):
//
//   level 0          : N                nodes of InW     bits (the inputs)
//   level l          : ceil(N / 2^l)    nodes of InW + l bits
//   level Levels     : 1                node  of InW + Levels bits = sum_o
//
//   with Levels = $clog2(N). Node i of level l is the sum of nodes 2i and 2i+1
//   of level l-1, each extended by one bit (sign bit if Signed, else zero); if
//   level l-1 has an odd node count its last node has no partner and is passed
//   through, extended by one bit. One bit of growth per level suffices for the
//   worst case: a node of level l sums at most 2^l inputs.
//
//   Example N = 5, InW = 9: 5 x 9b -> 3 x 10b -> 2 x 11b -> 1 x 12b.
//   Example N = 32, InW = 9: 32 x 9b -> 16 x 10b -> 8 x 11b -> 4 x 12b -> 2 x 13b -> 1 x 14b.
//
//   N = 1 is handled on purpose: Levels = 0, only gen_level[0] (the leaves)
//   exists, there are no adders and sum_o is the single input.
//
// Each level is a flat vector `nodes` in its own generate scope
// gen_level[l]; node i of level l sits at [W*i +: W]. The multiplications in
// the index expressions are elaboration-time arithmetic on genvars and
// parameters, not hardware.

module tri_adder_tree #(
  parameter int unsigned N      = 4,     // number of input terms, >= 1
  parameter int unsigned InW    = 9,     // width of one input term, >= 1
  parameter bit          Signed = 1'b1,  // 1: two's complement terms; 0: unsigned
  localparam int unsigned Levels = $clog2(N),
  localparam int unsigned OutW   = InW + Levels
) (
  input  logic [N*InW-1:0] terms_i,  // term i at [InW*i +: InW]
  output logic [OutW-1:0]  sum_o     // sum of all terms, exact
);

  for (genvar l = 0; l <= Levels; l++) begin : gen_level
    localparam int unsigned W   = InW + l;                   // node width of level l
    localparam int unsigned Cnt = (N + (1 << l) - 1) >> l;   // node count: ceil(N / 2^l)

    logic [Cnt*W-1:0] nodes;

    if (l == 0) begin : gen_leaves
      // Level 0: the inputs.
      assign nodes = terms_i;
    end else begin : gen_sums
      localparam int unsigned PrevW   = W - 1;
      localparam int unsigned PrevCnt = (N + (1 << (l - 1)) - 1) >> (l - 1);

      for (genvar i = 0; i < Cnt; i++) begin : gen_node
        logic [PrevW-1:0] lhs;
        logic             lhs_ext;  // extension bit: sign (Signed) or zero

        assign lhs     = gen_level[l-1].nodes[PrevW*2*i +: PrevW];
        assign lhs_ext = Signed & lhs[PrevW-1];

        if (2*i + 1 < PrevCnt) begin : gen_add
          logic [PrevW-1:0] rhs;
          logic             rhs_ext;

          assign rhs     = gen_level[l-1].nodes[PrevW*(2*i+1) +: PrevW];
          assign rhs_ext = Signed & rhs[PrevW-1];
          assign nodes[W*i +: W] = {lhs_ext, lhs} + {rhs_ext, rhs};
        end else begin : gen_pass
          // Odd node out: extended by one bit and passed on to the next level.
          assign nodes[W*i +: W] = {lhs_ext, lhs};
        end
      end
    end
  end

  // The last level has exactly one node of OutW bits. For N == 1 (Levels == 0)
  // this is level 0 itself: no adders, the single term is the sum.
  assign sum_o = gen_level[Levels].nodes;

  ////////////////
  // Assertions //
  ////////////////

  // Elaboration-time parameter checks.
  if (N < 1) begin : gen_n_check
    $error("tri_adder_tree: N must be >= 1");
  end
  if (InW < 1) begin : gen_inw_check
    $error("tri_adder_tree: InW must be >= 1");
  end

endmodule
