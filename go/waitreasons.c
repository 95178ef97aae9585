/* The runtime's waitReasonStrings of each Go release chang was tested with, generated from
 * each toolchain's src/runtime/runtime2.go by go/waitreasons_gen.py (index = waitReason value). Used only when the
 * binary's own array cannot be found: stripped binaries have no symbol for it, and the
 * strings moved (1.24 added "sync.WaitGroup.Wait"; 1.26 reordered the enum). */
#include "go/internal.h"
#include <stddef.h>

static const char *const reasons_1_19[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"select",	/* waitReasonSelect */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"timer goroutine (idle)",	/* waitReasonTimerGoroutineIdle */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
};

static const char *const reasons_1_21[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"select",	/* waitReasonSelect */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
};

static const char *const reasons_1_22[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"select",	/* waitReasonSelect */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
	"flushing proc caches",	/* waitReasonFlushProcCaches */
	"trace goroutine status",	/* waitReasonTraceGoroutineStatus */
	"trace proc status",	/* waitReasonTraceProcStatus */
	"page trace flush",	/* waitReasonPageTraceFlush */
	"coroutine",	/* waitReasonCoroutine */
};

static const char *const reasons_1_23[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"select",	/* waitReasonSelect */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
	"flushing proc caches",	/* waitReasonFlushProcCaches */
	"trace goroutine status",	/* waitReasonTraceGoroutineStatus */
	"trace proc status",	/* waitReasonTraceProcStatus */
	"page trace flush",	/* waitReasonPageTraceFlush */
	"coroutine",	/* waitReasonCoroutine */
	"GC weak to strong wait",	/* waitReasonGCWeakToStrongWait */
};

static const char *const reasons_1_24[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"select",	/* waitReasonSelect */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"sync.WaitGroup.Wait",	/* waitReasonSyncWaitGroupWait */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
	"flushing proc caches",	/* waitReasonFlushProcCaches */
	"trace goroutine status",	/* waitReasonTraceGoroutineStatus */
	"trace proc status",	/* waitReasonTraceProcStatus */
	"page trace flush",	/* waitReasonPageTraceFlush */
	"coroutine",	/* waitReasonCoroutine */
	"GC weak to strong wait",	/* waitReasonGCWeakToStrongWait */
	"synctest.Run",	/* waitReasonSynctestRun */
	"synctest.Wait",	/* waitReasonSynctestWait */
	"chan receive (synctest)",	/* waitReasonSynctestChanReceive */
	"chan send (synctest)",	/* waitReasonSynctestChanSend */
	"select (synctest)",	/* waitReasonSynctestSelect */
};

static const char *const reasons_1_26[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"GOMAXPROCS updater (idle)",	/* waitReasonUpdateGOMAXPROCSIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"select",	/* waitReasonSelect */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"sync.WaitGroup.Wait",	/* waitReasonSyncWaitGroupWait */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
	"flushing proc caches",	/* waitReasonFlushProcCaches */
	"trace goroutine status",	/* waitReasonTraceGoroutineStatus */
	"trace proc status",	/* waitReasonTraceProcStatus */
	"page trace flush",	/* waitReasonPageTraceFlush */
	"coroutine",	/* waitReasonCoroutine */
	"GC weak to strong wait",	/* waitReasonGCWeakToStrongWait */
	"synctest.Run",	/* waitReasonSynctestRun */
	"synctest.Wait",	/* waitReasonSynctestWait */
	"chan receive (durable)",	/* waitReasonSynctestChanReceive */
	"chan send (durable)",	/* waitReasonSynctestChanSend */
	"select (durable)",	/* waitReasonSynctestSelect */
	"sync.WaitGroup.Wait (durable)",	/* waitReasonSynctestWaitGroupWait */
	"cleanup wait",	/* waitReasonCleanupWait */
};

static const char *const reasons_1_27[] = {
	"",	/* waitReasonZero */
	"GC assist marking",	/* waitReasonGCAssistMarking */
	"IO wait",	/* waitReasonIOWait */
	"dumping heap",	/* waitReasonDumpingHeap */
	"garbage collection",	/* waitReasonGarbageCollection */
	"garbage collection scan",	/* waitReasonGarbageCollectionScan */
	"panicwait",	/* waitReasonPanicWait */
	"GC assist wait",	/* waitReasonGCAssistWait */
	"GC sweep wait",	/* waitReasonGCSweepWait */
	"GC scavenge wait",	/* waitReasonGCScavengeWait */
	"finalizer wait",	/* waitReasonFinalizerWait */
	"force gc (idle)",	/* waitReasonForceGCIdle */
	"GOMAXPROCS updater (idle)",	/* waitReasonUpdateGOMAXPROCSIdle */
	"semacquire",	/* waitReasonSemacquire */
	"sleep",	/* waitReasonSleep */
	"chan receive (nil chan)",	/* waitReasonChanReceiveNilChan */
	"chan send (nil chan)",	/* waitReasonChanSendNilChan */
	"select (no cases)",	/* waitReasonSelectNoCases */
	"select",	/* waitReasonSelect */
	"chan receive",	/* waitReasonChanReceive */
	"chan send",	/* waitReasonChanSend */
	"sync.Cond.Wait",	/* waitReasonSyncCondWait */
	"sync.Mutex.Lock",	/* waitReasonSyncMutexLock */
	"sync.RWMutex.RLock",	/* waitReasonSyncRWMutexRLock */
	"sync.RWMutex.Lock",	/* waitReasonSyncRWMutexLock */
	"sync.WaitGroup.Wait",	/* waitReasonSyncWaitGroupWait */
	"trace reader (blocked)",	/* waitReasonTraceReaderBlocked */
	"wait for GC cycle",	/* waitReasonWaitForGCCycle */
	"GC worker (idle)",	/* waitReasonGCWorkerIdle */
	"GC worker (active)",	/* waitReasonGCWorkerActive */
	"preempted",	/* waitReasonPreempted */
	"debug call",	/* waitReasonDebugCall */
	"GC mark termination",	/* waitReasonGCMarkTermination */
	"stopping the world",	/* waitReasonStoppingTheWorld */
	"flushing proc caches",	/* waitReasonFlushProcCaches */
	"trace goroutine status",	/* waitReasonTraceGoroutineStatus */
	"trace proc status",	/* waitReasonTraceProcStatus */
	"page trace flush",	/* waitReasonPageTraceFlush */
	"coroutine",	/* waitReasonCoroutine */
	"GC weak to strong wait",	/* waitReasonGCWeakToStrongWait */
	"synctest.Run",	/* waitReasonSynctestRun */
	"synctest.Wait",	/* waitReasonSynctestWait */
	"chan receive (durable)",	/* waitReasonSynctestChanReceive */
	"chan send (durable)",	/* waitReasonSynctestChanSend */
	"select (durable)",	/* waitReasonSynctestSelect */
	"sync.WaitGroup.Wait (durable)",	/* waitReasonSynctestWaitGroupWait */
	"cleanup wait",	/* waitReasonCleanupWait */
};

static const struct {
	int minor;
	const char *const *v;
	int n;
} tables[] = {
	{ 19, reasons_1_19, 27 },
	{ 21, reasons_1_21, 32 },
	{ 22, reasons_1_22, 37 },
	{ 23, reasons_1_23, 38 },
	{ 24, reasons_1_24, 44 },
	{ 26, reasons_1_26, 47 },
	{ 27, reasons_1_27, 47 },
};

const char *const *go_waitreason_table(int minor, int *n, int *table_minor)
{
	/* the newest table not newer than the binary; the oldest for older binaries */
	size_t best = 0;
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++)
		if (tables[i].minor <= minor)
			best = i;
	*n = tables[best].n;
	*table_minor = tables[best].minor;
	return tables[best].v;
}
