// The simulator's own random numbers: xoshiro256** (Blackman and Vigna) seeded through
// splitmix64, and the few samplers the simulator needs, written out so that the sequence of
// values depends only on this code and IEEE double arithmetic, not on a standard library's
// <random> distributions (which differ between implementations).
//
// Value types; a Rng is not thread-safe, use one per stream.
#pragma once

#include <array>
#include <cstdint>

namespace csml {

// splitmix64: a tiny generator used to expand one 64-bit seed into well-mixed state words.
class SplitMix64 {
 public:
  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t Next();

 private:
  std::uint64_t state_;
};

class Rng {
 public:
  // Seeds the four state words from splitmix64(seed); never all zero.
  explicit Rng(std::uint64_t seed);

  std::uint64_t Next();
  // Uniform in [0, 1) with 53 random bits.
  double Uniform();
  // True with probability p (p <= 0 never, p >= 1 always).
  bool Bernoulli(double p);
  // Standard normal (Marsaglia's polar method).
  double Normal();
  double Normal(double mean, double stddev) { return mean + stddev * Normal(); }
  // Poisson with mean `lambda` (<= 0 gives 0): exact (Knuth) below 30, a rounded normal
  // approximation above, which is ample for simulated counts.
  std::int64_t Poisson(double lambda);
  // An index in [0, n) for 1 <= n < 2^32, by multiply-shift of 32 random bits (bias < n / 2^32).
  std::uint32_t Below(std::uint32_t n);

 private:
  std::array<std::uint64_t, 4> s_{};
};

}  // namespace csml
