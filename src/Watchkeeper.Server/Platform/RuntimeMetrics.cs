using System.Diagnostics;
using System.Runtime;

namespace Watchkeeper.Server.Platform;

/// <summary>
/// The .NET runtime's own figures on <c>/metrics</c>, as Prometheus's Go client exposes <c>go_gc_*</c> and
/// <c>go_threads</c>: collections and pause time (what a latency spike at 3 a.m. is usually made of), heap sizes,
/// allocation rate, thread pool and lock contention, plus the remaining standard <c>process_*</c> series.
/// Names follow the .NET runtime metrics (<c>dotnet.gc.collections</c> and so on) in Prometheus notation.
/// </summary>
public static class RuntimeMetrics
{
    public static void Write(MetricsWriter w)
    {
        w.Header("dotnet_gc_collections_total", "Garbage collections since the process started, by the oldest generation collected.", "counter");
        for (var g = 0; g <= GC.MaxGeneration; g++)
        {
            // CollectionCount(g) counts collections of generation g or older; report each generation on its own.
            var count = GC.CollectionCount(g) - (g < GC.MaxGeneration ? GC.CollectionCount(g + 1) : 0);
            w.Sample("dotnet_gc_collections_total", ["generation"], ["gen" + g], count);
        }
        w.Header("dotnet_gc_pause_time_seconds_total", "Total time the runtime paused threads for garbage collection.", "counter");
        w.Sample("dotnet_gc_pause_time_seconds_total", [], [], GC.GetTotalPauseDuration().TotalSeconds);
        w.Header("dotnet_gc_heap_allocated_bytes_total", "Bytes allocated on the managed heap since the process started.", "counter");
        w.Sample("dotnet_gc_heap_allocated_bytes_total", [], [], GC.GetTotalAllocatedBytes());
        var info = GC.GetGCMemoryInfo();
        w.Header("dotnet_gc_heap_size_bytes", "Managed heap size after the last collection, by generation.", "gauge");
        var gens = info.GenerationInfo;
        string[] names = ["gen0", "gen1", "gen2", "loh", "poh"];
        for (var i = 0; i < gens.Length && i < names.Length; i++)
            w.Sample("dotnet_gc_heap_size_bytes", ["generation"], [names[i]], gens[i].SizeAfterBytes);
        w.Header("dotnet_gc_committed_memory_bytes", "Memory the garbage collector has committed.", "gauge");
        w.Sample("dotnet_gc_committed_memory_bytes", [], [], info.TotalCommittedBytes);
        w.Header("dotnet_gc_last_pause_percent", "Share of time spent paused for garbage collection, as the runtime reports it after the last collection.", "gauge");
        w.Sample("dotnet_gc_last_pause_percent", [], [], info.PauseTimePercentage);
        w.Header("dotnet_gc_server", "1 when the server garbage collector is in use.", "gauge");
        w.Sample("dotnet_gc_server", [], [], GCSettings.IsServerGC ? 1 : 0);
        w.Header("dotnet_thread_pool_threads", "Thread pool threads that currently exist.", "gauge");
        w.Sample("dotnet_thread_pool_threads", [], [], ThreadPool.ThreadCount);
        w.Header("dotnet_thread_pool_queue_length", "Work items queued to the thread pool and not yet started.", "gauge");
        w.Sample("dotnet_thread_pool_queue_length", [], [], ThreadPool.PendingWorkItemCount);
        w.Header("dotnet_thread_pool_work_items_total", "Work items the thread pool has completed.", "counter");
        w.Sample("dotnet_thread_pool_work_items_total", [], [], ThreadPool.CompletedWorkItemCount);
        w.Header("dotnet_monitor_lock_contentions_total", "Times a thread waited for a lock held by another thread.", "counter");
        w.Sample("dotnet_monitor_lock_contentions_total", [], [], Monitor.LockContentionCount);
        w.Header("dotnet_jit_compilation_time_seconds_total", "Time spent compiling methods just in time.", "counter");
        w.Sample("dotnet_jit_compilation_time_seconds_total", [], [], System.Runtime.JitInfo.GetCompilationTime().TotalSeconds);

        using var proc = Process.GetCurrentProcess();
        w.Header("process_virtual_memory_bytes", "Virtual memory size in bytes.", "gauge");
        w.Sample("process_virtual_memory_bytes", [], [], proc.VirtualMemorySize64);
        w.Header("process_threads", "Operating-system threads of the process.", "gauge");
        w.Sample("process_threads", [], [], proc.Threads.Count);
        if (OperatingSystem.IsLinux())
        {
            try
            {
                w.Header("process_open_fds", "Open file descriptors.", "gauge");
                w.Sample("process_open_fds", [], [], Directory.EnumerateFileSystemEntries("/proc/self/fd").Count());
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }
}
