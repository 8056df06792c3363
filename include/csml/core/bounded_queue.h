// A bounded multi-producer, single-consumer ring of preallocated slots (Vyukov's bounded
// queue): producers claim a slot with one compare-and-swap and fill it in place, the one
// consumer reads it in place and hands it back. No producer ever waits: a full ring refuses
// (TryPush returns false) and the caller counts the drop.
//
// Slots are reused, so a T holding strings keeps their capacity: once every slot has been
// filled once, pushing a record allocates nothing.
//
// Thread-safety: TryPush from any number of threads at once; TryPop from one thread only;
// ApproxSize from any thread.
#pragma once

#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace csml {

template <typename T>
class BoundedQueue {
 public:
  // capacity is rounded up to a power of two (at least 2).
  explicit BoundedQueue(std::size_t capacity)
      : capacity_(std::bit_ceil(capacity < 2 ? std::size_t{2} : capacity)),
        mask_(capacity_ - 1),
        cells_(std::make_unique<Cell[]>(capacity_)) {
    for (std::size_t i = 0; i < capacity_; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }
  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  std::size_t capacity() const { return capacity_; }

  // Fills a free slot with fill(T&) and publishes it; false (fill not called) when full.
  template <typename Fill>
  bool TryPush(Fill&& fill) {
    std::size_t pos = head_.load(std::memory_order_relaxed);
    while (true) {
      Cell& cell = cells_[pos & mask_];
      const std::size_t seq = cell.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::intptr_t>(seq) - static_cast<std::intptr_t>(pos);
      if (diff == 0) {
        if (head_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          fill(cell.value);
          cell.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // the consumer has not freed this slot yet: full
      } else {
        pos = head_.load(std::memory_order_relaxed);
      }
    }
  }

  // Calls read(T&) on the oldest published slot and frees it; false when empty (or the oldest
  // claimed slot is still being filled). `read` may move from the slot or reset it.
  template <typename Read>
  bool TryPop(Read&& read) {
    Cell& cell = cells_[tail_ & mask_];
    const std::size_t seq = cell.seq.load(std::memory_order_acquire);
    if (seq != tail_ + 1) return false;
    read(cell.value);
    cell.seq.store(tail_ + capacity_, std::memory_order_release);
    ++tail_;
    tail_published_.store(tail_, std::memory_order_relaxed);
    return true;
  }

  // Claimed slots not yet freed by the consumer (a gauge; exact only when quiet).
  std::size_t ApproxSize() const {
    const std::size_t head = head_.load(std::memory_order_relaxed);
    const std::size_t tail = tail_published_.load(std::memory_order_relaxed);
    return head > tail ? head - tail : 0;
  }

 private:
  struct alignas(64) Cell {
    std::atomic<std::size_t> seq{0};
    T value{};
  };

  const std::size_t capacity_;
  const std::size_t mask_;
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<std::size_t> head_{0};
  alignas(64) std::size_t tail_ = 0;  // the consumer's only
  std::atomic<std::size_t> tail_published_{0};
};

}  // namespace csml
