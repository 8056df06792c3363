// Per-thread slots for counters on the request path: each thread writes only its own slot
// (no lock, no atomic read-modify-write, no shared cache line), and a reader sums the slots.
//
// A thread's slot is created on its first Local() call (one allocation and one mutex lock per
// thread and owner, never per request) and lives as long as the owner, so counts of threads
// that have ended stay in the sums. Counter is an atomic written by one thread with a plain
// load + store, which is as cheap as a non-atomic increment and still race-free for readers.
// Thread-safety: Local() and ForEach() may run on any threads at once; a slot must be
// written only through Local() on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace csml::server {

// A counter with one writer (the thread owning the slot) and any number of readers.
class Counter {
 public:
  void Add(std::uint64_t n = 1) {
    value_.store(value_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  // A reader that must see the value after an owner's earlier store (a sequence lock) asks
  // for acquire; the hot path's counts stay relaxed.
  std::uint64_t Get(std::memory_order order = std::memory_order_relaxed) const {
    return value_.load(order);
  }
  // Only from the owning thread (or when no thread writes any more).
  void Set(std::uint64_t value, std::memory_order order = std::memory_order_relaxed) {
    value_.store(value, order);
  }

 private:
  std::atomic<std::uint64_t> value_{0};
};

template <typename Slot>
class PerThread {
 public:
  PerThread() = default;
  PerThread(const PerThread&) = delete;
  PerThread& operator=(const PerThread&) = delete;

  // This thread's slot.
  Slot& Local() {
    // One cache entry per thread: in a server process there is one owner, so after the first
    // call this is a compare and a load. Owners are told apart by a never-reused id, not by
    // address, so a new owner at a freed owner's address never sees a stale slot.
    thread_local Cache cache;
    if (cache.owner_id != id_) {
      cache.slot = &Register();
      cache.owner_id = id_;
    }
    return *cache.slot;
  }

  // Calls fn(const Slot&) for every slot created so far.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& entry : slots_) fn(static_cast<const Slot&>(*entry.second));
  }

  // Calls fn(Slot&) for every slot: only when no thread writes its slot any more (at the end).
  template <typename Fn>
  void ForEachUnowned(Fn&& fn) {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& entry : slots_) fn(*entry.second);
  }

 private:
  struct Cache {
    std::uint64_t owner_id = 0;
    Slot* slot = nullptr;
  };

  static std::uint64_t NextId() {
    static std::atomic<std::uint64_t> next{1};
    return next.fetch_add(1, std::memory_order_relaxed);
  }

  Slot& Register() {
    std::lock_guard<std::mutex> lock(mu_);
    const std::thread::id me = std::this_thread::get_id();
    for (auto& entry : slots_) {
      if (entry.first == me) return *entry.second;
    }
    slots_.emplace_back(me, std::make_unique<Slot>());
    return *slots_.back().second;
  }

  const std::uint64_t id_ = NextId();
  mutable std::mutex mu_;
  std::vector<std::pair<std::thread::id, std::unique_ptr<Slot>>> slots_;
};

}  // namespace csml::server
