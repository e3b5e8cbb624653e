namespace Analytics.PipelineBenchmark.Load;

/// <summary>CPU time of one process under test over a step: seconds, and microseconds per event produced.</summary>
internal sealed record ProcessCpu(int Pid, string Name, double? Seconds, double? MicrosecondsPerEvent);

/// <summary><see cref="ProcessCpu"/> as the reports write it.</summary>
internal sealed record ProcessCpuJson(int Pid, string Name, double? CpuSeconds, double? CpuMicrosecondsPerEvent);
