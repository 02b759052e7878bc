package io.pgha.examples.witness;

/** What {@link WitnessDcs.Builder} checked. The password never appears in {@link #toString()}. */
record WitnessSettings(String jdbcUrl, String user, String password, String schema, int poolSize) {
    @Override
    public String toString() {
        return "WitnessSettings[" + jdbcUrl + ", user " + user + ", password ****, schema " + schema + ", pool " + poolSize + "]";
    }
}
