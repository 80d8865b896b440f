import XCTest

// Tests of IRNAgents arrive with its code.
final class IRNAgentsPlaceholderTests: XCTestCase {}
