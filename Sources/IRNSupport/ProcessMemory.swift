#if canImport(Glibc)
import CMalloc
#endif

/// Allocator policy for the long-running cluster processes.
public enum ProcessMemory {
    /// Serve every block of `threshold` bytes or more by its own mmap, returned to the system
    /// on free. glibc raises its mmap threshold after the first large free (up to 32 MB), after
    /// which multi-MB weight patches come from the heap and a burst of them (an actor back from
    /// SIGSTOP reading its backlog) leaves the heap at its peak for the rest of the process's
    /// life: the soak saw steps of +80-140 MB that never came back. Setting the threshold fixes
    /// it and turns the dynamic adjustment off.
    public static func returnLargeBlocksToSystem(threshold: Int32 = 256 * 1024) {
        #if canImport(Glibc)
        _ = mallopt(M_MMAP_THRESHOLD, threshold)
        #endif
    }
}
