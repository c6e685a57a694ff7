// A live level (0–1) for a MediaStream, for the call bar's ring: mic while listening,
// the assistant while speaking.

export class AudioLevel {
  constructor(context, stream) {
    this.stream = stream;
    this.source = context.createMediaStreamSource(stream);
    this.analyser = context.createAnalyser();
    this.analyser.fftSize = 512;
    this.source.connect(this.analyser);
    this.samples = new Float32Array(this.analyser.fftSize);
  }

  read() {
    this.analyser.getFloatTimeDomainData(this.samples);
    let sum = 0;
    for (const sample of this.samples) sum += sample * sample;
    const rms = Math.sqrt(sum / this.samples.length);
    return Math.min(1, rms * 4); // speech peaks around 0.1–0.3 RMS
  }

  disconnect() {
    this.source.disconnect();
  }
}
