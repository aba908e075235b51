// A small fixed-size thread pool with a blocking parallel-for, for the CPU
// kernels.
//
// std::thread + std::mutex (not absl::Mutex) so ThreadSanitizer sees every
// synchronization: Debian's Abseil is not TSan-instrumented. The caller thread
// takes part in the work, so a pool of N threads starts N - 1 workers. Calls
// from different threads are serialized; a ParallelFor issued from inside a
// pool task runs inline on the calling thread (no deadlock, no recursion into
// the pool).
#ifndef REWIRE_KERNELS_THREAD_POOL_H_
#define REWIRE_KERNELS_THREAD_POOL_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace rewire {

class ThreadPool {
 public:
  // num_threads < 1 means std::thread::hardware_concurrency().
  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int num_threads() const { return num_threads_; }

  // Calls fn(begin, end) on disjoint ranges covering [0, n), each at least
  // `grain` long (except the last), and returns when all have finished. Which
  // thread runs which range is unspecified: callers that need deterministic
  // results must make each range's result independent of the split.
  void ParallelFor(int64_t n, int64_t grain,
                   const std::function<void(int64_t, int64_t)>& fn);

  // The process-wide pool over all cores.
  static ThreadPool& Default();

 private:
  void WorkerLoop();
  // Runs chunks of the current job until none are left.
  void RunChunks();

  const int num_threads_;
  std::vector<std::thread> workers_;

  std::mutex submit_mu_;  // serializes ParallelFor callers

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  bool stop_ = false;
  uint64_t generation_ = 0;
  // Current job, guarded by mu_.
  const std::function<void(int64_t, int64_t)>* fn_ = nullptr;
  int64_t n_ = 0;
  int64_t chunk_ = 1;
  int64_t num_chunks_ = 0;
  int64_t next_chunk_ = 0;
  int64_t chunks_done_ = 0;
};

}  // namespace rewire

#endif  // REWIRE_KERNELS_THREAD_POOL_H_
