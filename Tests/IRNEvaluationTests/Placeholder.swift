import XCTest

// Tests of IRNEvaluation arrive with its code.
final class IRNEvaluationPlaceholderTests: XCTestCase {}
