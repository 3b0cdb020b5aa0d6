#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func usleepMilliseconds(_ ms: Int) {
    usleep(useconds_t(ms * 1000))
}
